package vf

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// MaxLine bounds a devd line. devctl messages are far shorter (the kernel
// formats them into a small sbuf); anything longer is hostile or broken
// and is rejected before it is looked at.
const MaxLine = 1024

// maxFields bounds the key=value pairs taken from one line.
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

// ParseEvent decodes one devd line. It never panics, and its cost is
// linear in the line length, which it bounds with MaxLine.
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
	fields := bytes.Fields(line[1:])
	if len(fields) > maxFields {
		return Event{}, fmt.Errorf("%w: %d fields", ErrMalformed, len(fields))
	}
	for _, f := range fields {
		k, v, ok := bytes.Cut(f, []byte("="))
		if !ok || len(k) == 0 {
			return Event{}, fmt.Errorf("%w: field %q is not key=value", ErrMalformed, f)
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
		e.Data[k] = v
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
// included), DEL, and anything outside ASCII.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f }

// String formats e as a devd line (without the newline); ParseEvent
// reads it back. Data keys are written in sorted order.
func (e Event) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "!system=%s subsystem=%s type=%s", e.System, e.Subsystem, e.Type)
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		fmt.Fprintf(&b, " %s=%s", k, e.Data[k])
	}
	if !e.At.IsZero() {
		fmt.Fprintf(&b, " timestamp=%d.%09d", e.At.Unix(), e.At.Nanosecond())
	}
	return b.String()
}
