package nativetest

import "testing"

func TestNeed(t *testing.T) {
	t.Setenv("CI", "")
	var reached bool
	t.Run("met", func(t *testing.T) { Need(t, true, "x"); reached = true })
	if !reached {
		t.Fatal("Need stopped a test whose need was met")
	}
	skipped := t.Run("unmet", func(t *testing.T) { Need(t, false, "no such tool"); t.Fatal("not skipped") })
	if !skipped {
		t.Fatal("an unmet need did not skip the test outside CI")
	}
}

func TestRun(t *testing.T) {
	if got := Run(t, "echo", " hello "); got != "hello" {
		t.Fatalf("Run = %q, want the trimmed output", got)
	}
}
