package agent

import (
	"testing"
	"time"
)

func TestBackoffCappedAndJittered(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 20; n++ {
		want := min(b.Min<<min(n-1, 20), b.Max)
		for range 50 {
			d := b.wait(n)
			if d < want/2 || d > want {
				t.Fatalf("wait(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}
