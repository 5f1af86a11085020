package vf

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxLine bounds a devd line. devctl messages are far shorter (the kernel
// formats them into a small sbuf); anything longer is hostile or broken
// and is rejected before it is looked at.
const MaxLine = 1024

// maxFields bounds the data pairs kept from one line; further pairs are
// read past and dropped (ZFS ereports carry dozens).
const maxFields = 16

// Event is one devctl notification, as devd relays it:
//
//	!system=IFNET subsystem=mce0 type=DETACH
//
// (sys/kern/kern_devctl.c devctl_notify: "!system=S subsystem=SS type=T"
// followed by optional space-separated data).
type Event struct {
	System    string
	Subsystem string
	Type      string
	// Data holds the other key=value pairs; nil when there are none.
	Data map[string]string
	// At is the time carried by a timestamp=SECONDS[.FRACTION] pair, or
	// the zero time. Producers that stamp events (the simulated devd)
	// let durations follow their clock instead of the agent's.
	At time.Time
}

// Parse errors; test them with errors.Is.
var (
	// ErrNotNotify marks a well-formed line that is not a notification:
	// device attach (+), detach (-) and nomatch (?) lines. Not an error
	// worth logging.
	ErrNotNotify = errors.New("vf: not a devctl notification")
	// ErrMalformed marks a line that cannot be a devctl notification.
	ErrMalformed = errors.New("vf: malformed devd line")
)

// ParseEvent decodes one devd line. Only the notification header
// (system, subsystem, type) is required; the data after it is read the
// way devd reads it, leniently, because real lines of other systems do
// not all follow key=value: ZFS writes "time=SEC NSEC", USB and CAM quote
// values with spaces (product="USB Mouse"). Words without "=" are
// skipped, quoted values may hold spaces and backslash escapes, and
// pairs beyond maxFields are dropped. Control bytes make a line
// malformed (devctl never writes them). ParseEvent never panics, and its
// cost is linear in the line length, which it bounds with MaxLine.
func ParseEvent(line []byte) (Event, error) {
	line = bytes.TrimRight(line, "\n\x00")
	if len(line) > MaxLine {
		return Event{}, fmt.Errorf("%w: %d bytes is longer than %d", ErrMalformed, len(line), MaxLine)
	}
	if len(line) == 0 {
		return Event{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	switch line[0] {
	case '!':
	case '+', '-', '?':
		return Event{}, ErrNotNotify
	default:
		return Event{}, fmt.Errorf("%w: starts with %q", ErrMalformed, line[0])
	}
	if i := bytes.IndexFunc(line, isControl); i >= 0 {
		return Event{}, fmt.Errorf("%w: control byte %#x at %d", ErrMalformed, line[i], i)
	}
	var e Event
	rest := line[1:]
	for len(rest) > 0 {
		var k, v []byte
		var ok bool
		k, v, ok, rest = nextPair(rest)
		if !ok {
			continue
		}
		if err := e.set(string(k), string(v)); err != nil {
			return Event{}, err
		}
	}
	if e.System == "" || e.Subsystem == "" || e.Type == "" {
		return Event{}, fmt.Errorf("%w: system, subsystem and type are required", ErrMalformed)
	}
	return e, nil
}

// nextPair reads one word of s: a key=value pair (ok), or a word without
// a key that is skipped. A value starting with a double quote runs to
// the closing quote, with \" and \\ escapes (devctl_safe_quote_sb), or to
// the end of the line if there is none.
func nextPair(s []byte) (k, v []byte, ok bool, rest []byte) {
	s = bytes.TrimLeft(s, " ")
	end := bytes.IndexAny(s, " =")
	if end < 0 || s[end] == ' ' || end == 0 {
		// A word without "=", or "=value" without a key.
		if sp := bytes.IndexByte(s, ' '); sp >= 0 {
			return nil, nil, false, s[sp:]
		}
		return nil, nil, false, nil
	}
	k, s = s[:end], s[end+1:]
	if len(s) == 0 || s[0] != '"' {
		if sp := bytes.IndexByte(s, ' '); sp >= 0 {
			return k, s[:sp], true, s[sp:]
		}
		return k, s, true, nil
	}
	var val []byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			val = append(val, s[i])
		case c == '"':
			return k, val, true, s[i+1:]
		default:
			val = append(val, c)
		}
	}
	return k, val, true, nil
}

func (e *Event) set(k, v string) error {
	switch k {
	case "system":
		e.System = v
	case "subsystem":
		e.Subsystem = v
	case "type":
		e.Type = v
	case "timestamp":
		at, err := parseTimestamp(v)
		if err != nil {
			return fmt.Errorf("%w: timestamp %q: %v", ErrMalformed, v, err)
		}
		e.At = at
	default:
		if e.Data == nil {
			e.Data = make(map[string]string)
		}
		if _, dup := e.Data[k]; dup || len(e.Data) < maxFields {
			e.Data[k] = v
		}
	}
	return nil
}

// parseTimestamp reads seconds since the epoch with an optional fraction.
func parseTimestamp(s string) (time.Time, error) {
	secs, frac, _ := bytes.Cut([]byte(s), []byte("."))
	sec, err := strconv.ParseInt(string(secs), 10, 64)
	if err != nil || sec < 0 || sec > 1<<40 {
		return time.Time{}, errors.New("want seconds since the epoch")
	}
	var nsec int64
	if len(frac) > 0 {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseInt(string(frac), 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, errors.New("bad fraction")
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	return time.Unix(sec, nsec), nil
}

// isControl reports bytes no devctl line contains: C0 controls (NUL
// included) and DEL. Bytes above ASCII pass: a USB product string may
// carry UTF-8.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// String formats e as a devd line (without the newline); ParseEvent
// reads it back. Data keys are written in sorted order.
func (e Event) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "!system=%s subsystem=%s type=%s", quoteValue(e.System), quoteValue(e.Subsystem), quoteValue(e.Type))
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		fmt.Fprintf(&b, " %s=%s", k, quoteValue(e.Data[k]))
	}
	if !e.At.IsZero() {
		fmt.Fprintf(&b, " timestamp=%d.%09d", e.At.Unix(), e.At.Nanosecond())
	}
	return b.String()
}

// quoteValue quotes v as devctl_safe_quote_sb would when it could not be
// read back bare.
func quoteValue(v string) string {
	if !strings.ContainsAny(v, " \"\\") {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}
