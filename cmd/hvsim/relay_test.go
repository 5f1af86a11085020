package main

import (
	"testing"
	"time"
)

// The agent's lines as slog's text handler writes them, the way the
// demo shows them, and what it learns from them about the metrics
// server.
func TestParseLogLine(t *testing.T) {
	local := func(s string) string {
		tm, _ := time.Parse(time.RFC3339Nano, s)
		return tm.Local().Format("15:04:05.000")
	}
	for _, tt := range []struct {
		in, show string
		web      *webStatus
		hidden   bool
	}{
		{in: `time=2026-12-04T17:37:05.506Z level=INFO msg="hvagent starting" subsystems="[kvp vss vf]"`,
			show: local("2026-12-04T17:37:05.506Z") + ` INFO hvagent starting: subsystems="[kvp vss vf]"`},
		{in: `time=2026-12-04T17:37:05.549Z level=INFO msg=frozen subsystem=vss filesystems=[/mnt]`,
			show: local("2026-12-04T17:37:05.549Z") + ` INFO frozen: subsystem=vss filesystems=[/mnt]`},
		{in: `time=2026-12-04T17:39:24.547Z level=ERROR msg="component failed; restarting" component=web err="metrics: listen tcp 127.0.0.1:9855: bind: address already in use" restart_in=313ms`,
			show: local("2026-12-04T17:39:24.547Z") + ` ERROR component failed; restarting: component=web err="metrics: listen tcp 127.0.0.1:9855: bind: address already in use" restart_in=313ms`,
			web:  &webStatus{err: "metrics: listen tcp 127.0.0.1:9855: bind: address already in use"}},
		{in: `time=2026-12-04T17:37:05.510Z level=INFO msg="Listening on" component=web address=127.0.0.1:9855`,
			web: &webStatus{addr: "127.0.0.1:9855"}, hidden: true},
		{in: `time=2026-12-04T17:37:05.509Z level=INFO msg="request done" subsystem=vss operation=check msgid=1 duration=299µs`,
			hidden: true},
		{in: `panic: something "odd"`, show: `panic: something "odd"`},
		{in: `time=notatime level=INFO msg=x`, show: `time=notatime level=INFO msg=x`},
	} {
		l := parseLogLine(tt.in)
		if l.hidden() != tt.hidden {
			t.Errorf("%q: hidden %v, want %v", tt.in, l.hidden(), tt.hidden)
		}
		if !tt.hidden && l.String() != tt.show {
			t.Errorf("%q shown as\n%q, want\n%q", tt.in, l.String(), tt.show)
		}
		st, ok := l.web()
		switch {
		case tt.web == nil && ok:
			t.Errorf("%q: web status %+v, want none", tt.in, st)
		case tt.web != nil && (!ok || st != *tt.web):
			t.Errorf("%q: web status %+v (%v), want %+v", tt.in, st, ok, *tt.web)
		}
	}
}
