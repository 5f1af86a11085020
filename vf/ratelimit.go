package vf

import "time"

// Limits of the per-hn action rate: a burst covers a few honest
// migrations in a row; beyond it one action a minute. Azure has reported
// ~900 VF flaps an hour (MicrosoftDocs/azure-docs#100444); rebuilding a
// lagg that often only adds churn to a host already in trouble.
const (
	DefaultBurst    = 10
	DefaultInterval = time.Minute
)

// bucket is a token bucket driven by the times it is given, so event
// timestamps and tests control it.
type bucket struct {
	burst    float64
	interval time.Duration
	tokens   float64
	last     time.Time
}

func newBucket(burst int, interval time.Duration) *bucket {
	return &bucket{burst: float64(burst), interval: interval, tokens: float64(burst)}
}

// take spends a token at now if one is available.
func (b *bucket) take(now time.Time) bool {
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// wait is how long after now the next token is available.
func (b *bucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(b.interval))
}

func (b *bucket) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+float64(now.Sub(b.last))/float64(b.interval))
	}
	if now.After(b.last) {
		b.last = now
	}
}
