package vsstest

import (
	"context"
	"time"
)

// Host drives a Kernel the way Hyper-V backs a VM up: CHECK (the host's
// HOT_BACKUP), FREEZE, the snapshot (Pause), THAW.
type Host struct {
	K     *Kernel
	Pause time.Duration // how long the snapshot takes
}

// Step is one operation of a backup.
type Step struct {
	Op       uint32
	Status   uint32
	Err      error
	Duration time.Duration // request to reply
}

// Backup runs one cycle and returns its steps. It stops after a CHECK that
// fails; after a failed FREEZE it still sends THAW, so a daemon that froze
// late thaws.
func (h *Host) Backup(ctx context.Context) []Step {
	var steps []Step
	do := func(op uint32) Step {
		start := time.Now()
		st, err := h.K.Transact(ctx, op)
		s := Step{Op: op, Status: st, Err: err, Duration: time.Since(start)}
		steps = append(steps, s)
		return s
	}
	if s := do(OpCheck); s.Status != StatusSuccess {
		return steps
	}
	if s := do(OpFreeze); s.Status == StatusSuccess {
		select {
		case <-time.After(h.Pause):
		case <-ctx.Done():
		}
	}
	do(OpThaw)
	return steps
}

// OK reports whether every step succeeded and the cycle was complete.
func OK(steps []Step) bool {
	if len(steps) != 3 {
		return false
	}
	for _, s := range steps {
		if s.Status != StatusSuccess || s.Err != nil {
			return false
		}
	}
	return true
}
