package agent

import (
	"context"
	"testing"
	"time"
)

func TestBackoffCappedAndJittered(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 20; n++ {
		want := min(b.Min<<min(n-1, 20), b.Max)
		for range 50 {
			d := b.Delay(n)
			if d < want/2 || d > want {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

// The zero Backoff is DefaultBackoff.
func TestBackoffZeroIsDefault(t *testing.T) {
	for n := 1; n <= 12; n++ {
		want := min(DefaultBackoff.Min<<(n-1), DefaultBackoff.Max)
		if d := (Backoff{}).Delay(n); d < want/2 || d > want {
			t.Fatalf("zero Backoff: Delay(%d) = %v, want within [%v, %v]", n, d, want/2, want)
		}
	}
}

// Sleep returns ctx's error at once when ctx ends, not after the wait.
func TestBackoffSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Backoff{Min: time.Hour, Max: time.Hour}).Sleep(ctx, 1); err != context.Canceled {
		t.Fatalf("Sleep with an ended context = %v, want context.Canceled", err)
	}
	if err := (Backoff{Min: time.Microsecond, Max: time.Microsecond}).Sleep(context.Background(), 1); err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
}
