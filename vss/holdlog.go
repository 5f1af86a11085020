package vss

import (
	"context"
	"log/slog"
	"sync"
)

// maxHeld bounds the log records held during one freeze.
const maxHeld = 1000

// holdHandler holds log records while filesystems are frozen. A log line
// that reaches a file on a frozen filesystem — directly, or through
// syslogd or daemon(8) — blocks its writer, and an agent blocked in a log
// write cannot answer THAW (the Linux hv_vss_daemon learnt this the hard
// way: microsoft/backupessentials#1). Held records are written after the
// thaw, in order.
type holdHandler struct {
	next slog.Handler
	st   *holdState // shared by the handlers WithAttrs/WithGroup derive
}

type holdState struct {
	mu      sync.Mutex
	holding bool
	recs    []heldRecord
	dropped int
}

type heldRecord struct {
	h slog.Handler
	r slog.Record
}

func (h *holdHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *holdHandler) Handle(ctx context.Context, r slog.Record) error {
	h.st.mu.Lock()
	if h.st.holding {
		if len(h.st.recs) < maxHeld {
			h.st.recs = append(h.st.recs, heldRecord{h.next, r.Clone()})
		} else {
			h.st.dropped++
		}
		h.st.mu.Unlock()
		return nil
	}
	h.st.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h *holdHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &holdHandler{next: h.next.WithAttrs(as), st: h.st}
}

func (h *holdHandler) WithGroup(name string) slog.Handler {
	return &holdHandler{next: h.next.WithGroup(name), st: h.st}
}

// hold starts holding records.
func (st *holdState) hold() {
	st.mu.Lock()
	st.holding = true
	st.mu.Unlock()
}

// release stops holding and writes the held records; log reports how
// many did not fit.
func (st *holdState) release(log *slog.Logger) {
	st.mu.Lock()
	recs, dropped := st.recs, st.dropped
	st.recs, st.dropped, st.holding = nil, 0, false
	st.mu.Unlock()
	for _, hr := range recs {
		_ = hr.h.Handle(context.Background(), hr.r)
	}
	if dropped > 0 {
		log.Warn("log lines dropped while frozen", "count", dropped)
	}
}

// holding wraps log so that st can hold its records.
func holding(log *slog.Logger, st *holdState) *slog.Logger {
	return slog.New(&holdHandler{next: log.Handler(), st: st})
}
