package vss

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestHoldHandler(t *testing.T) {
	var buf bytes.Buffer
	st := &holdState{}
	log := holding(slog.New(slog.NewTextHandler(&buf, nil)), st).With("subsystem", "vss")
	log.Info("one")
	st.hold()
	log.Info("two", "k", "v")
	log.WithGroup("g").Info("three", "x", 1)
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Fatalf("%d lines written while holding, want 1:\n%s", got, buf.String())
	}
	for i := 0; i < maxHeld; i++ {
		log.Debug("not enabled, not held")
		log.Info("filler")
	}
	st.release(slog.New(slog.NewTextHandler(&buf, nil)))
	out := buf.String()
	for _, want := range []string{`msg=one subsystem=vss`, `msg=two subsystem=vss k=v`, `msg=three subsystem=vss g.x=1`, `msg="log lines dropped while frozen" count=2`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%.400s", want, out)
		}
	}
	if strings.Index(out, "msg=two") > strings.Index(out, "msg=three") {
		t.Error("held records out of order")
	}
	log.Info("four")
	if !strings.Contains(buf.String(), "msg=four") {
		t.Error("not writing after release")
	}
}
