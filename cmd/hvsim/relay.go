package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// The agent's log, as the demo shows it. The agent writes slog's text
// format (agent/logging.go): time=... level=... msg=... then the
// attributes. The demo shows each line as "HH:MM:SS.mmm LEVEL message
// attributes", dropping the date, and leaves out the lines that the
// demo's own lines already tell: the VSS "request done" lines (the
// host's cycle line has each answer and its time) and the metrics
// server's start (the demo names the URL once the agent has bound it,
// see sim.waitWeb).

// logLine is one parsed line of the agent's log.
type logLine struct {
	time         time.Time
	level, msg   string
	attrs        map[string]string
	tail         string // the attributes as the agent wrote them
	unrecognised bool   // not slog's text format: shown as is
}

// parseLogLine splits a line of slog's text format. Values quoted by
// the handler (strconv.Quote) are unquoted.
func parseLogLine(s string) logLine {
	l := logLine{attrs: map[string]string{}}
	rest := s
	for i := 0; rest != ""; i++ {
		key, val, next, ok := logfmtPair(rest)
		if !ok {
			return logLine{unrecognised: true, tail: s}
		}
		switch {
		case i == 0 && key == "time":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return logLine{unrecognised: true, tail: s}
			}
			l.time = t
		case i == 1 && key == "level":
			l.level = val
		case i == 2 && key == "msg":
			l.msg = val
			l.tail = strings.TrimSpace(next)
		case i < 3:
			return logLine{unrecognised: true, tail: s}
		default:
			l.attrs[key] = val
		}
		rest = next
	}
	if l.level == "" {
		return logLine{unrecognised: true, tail: s}
	}
	return l
}

// logfmtPair reads key=value from the start of s and returns the rest.
func logfmtPair(s string) (key, val, rest string, ok bool) {
	s = strings.TrimLeft(s, " ")
	key, after, found := strings.Cut(s, "=")
	if !found || key == "" || strings.ContainsAny(key, " \"") {
		return "", "", "", false
	}
	if strings.HasPrefix(after, `"`) {
		q, err := strconv.QuotedPrefix(after)
		if err != nil {
			return "", "", "", false
		}
		v, _ := strconv.Unquote(q)
		return key, v, after[len(q):], true
	}
	v, rest, _ := strings.Cut(after, " ")
	return key, v, rest, true
}

// String is the line as the demo shows it.
func (l logLine) String() string {
	if l.unrecognised {
		return l.tail
	}
	msg := l.msg
	if l.tail != "" {
		msg += ":"
	}
	return strings.TrimSpace(l.time.Local().Format("15:04:05.000") + " " + l.level + " " + msg + " " + l.tail)
}

// hidden reports the lines the demo leaves out (see above).
func (l logLine) hidden() bool {
	return l.msg == "request done" && l.attrs["subsystem"] == "vss" ||
		l.attrs["component"] == "web" && (l.msg == "Listening on" || l.msg == "TLS is disabled.")
}

// webStatus is what the agent said about its metrics server: the address
// it listens on, or why it could not.
type webStatus struct {
	addr string
	err  string
}

// web returns the metrics server's news in l, if any. The exporter
// toolkit logs "Listening on" with the address (component=web); the
// agent's supervisor logs a failed start of the component.
func (l logLine) web() (webStatus, bool) {
	if l.attrs["component"] != "web" {
		return webStatus{}, false
	}
	switch {
	case l.msg == "Listening on":
		return webStatus{addr: l.attrs["address"]}, true
	case l.msg == "metrics server disabled":
		return webStatus{err: "the agent's metrics server is disabled"}, true
	case l.level == "ERROR":
		return webStatus{err: l.attrs["err"]}, true
	}
	return webStatus{}, false
}

// heldNote is said once, after the first thaw of a real freeze: the
// lines stamped while the filesystems were frozen reached the screen
// only then.
const heldNote = "hvsim: (lines stamped from \"frozen\" on came late: the agent holds its log while filesystems are frozen, " +
	"as a write could block it, and writes it at thaw)\n"

// relay prints the agent's log lines, marked as the agent's, and reports
// the metrics server's status on s.web.
func (s *sim) relay(r io.ReadCloser) {
	defer r.Close()
	defer close(s.web)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	froze, noted, webSent := false, false, false
	for sc.Scan() {
		l := parseLogLine(sc.Text())
		if st, ok := l.web(); ok && !webSent {
			s.web <- st
			webSent = true
		}
		if !l.hidden() {
			s.printf("  agent | %s\n", l)
		}
		switch {
		case l.msg == "frozen" && l.attrs["subsystem"] == "vss":
			froze = true
		case l.msg == "thawed" && froze && !noted:
			s.printf("%s", heldNote)
			noted = true
		}
	}
}
