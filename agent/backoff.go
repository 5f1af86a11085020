package agent

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the agent's one retry policy: waits that double from Min
// up to Max, each with jitter. The supervisor restarts subsystems and the
// metrics server with it; a subsystem that reconnects by itself (vf to
// devd) uses it with its own bounds.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff starts at half a second and caps at 30 s: short enough to
// take over a device as soon as an old daemon lets go, long enough not to
// spin on a broken one.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}

// orDefault is b, or DefaultBackoff when b has no Min.
func (b Backoff) orDefault() Backoff {
	if b.Min <= 0 {
		return DefaultBackoff
	}
	return b
}

// Delay returns the wait before attempt n (1-based): Min doubled n-1
// times, capped at Max, then drawn from [d/2, d] so that a fleet of
// guests does not retry in step.
func (b Backoff) Delay(n int) time.Duration {
	b = b.orDefault()
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Sleep waits Delay(n), or less if ctx ends first; it returns ctx's error
// then, nil otherwise.
func (b Backoff) Sleep(ctx context.Context, n int) error {
	return sleep(ctx, b.Delay(n))
}

// sleep waits d or until ctx ends, and returns ctx's error if it did.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
