// Package nativetest holds what the FreeBSD-native tests
// (*_native_freebsd_test.go) share: skipping when the machine cannot run
// them, except under CI=true, where that is a failure, and running a
// setup command whose failure fails the test.
package nativetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Need skips the test with why unless ok, or fails it under CI=true.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but the FreeBSD-native test cannot run: %s", why)
	}
	t.Skipf("skipping FreeBSD-native test: %s", why)
}

// Run runs argv (never through a shell) and returns its trimmed combined
// output, failing the test on an error.
func Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
