package netinfo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
)

// The commands SET_IP_INFO runs are package fbsdnettest's simulated
// FreeBSD system: the test binary plays each of them when started under
// its name (a symlink in the World's bin directory, put alone on PATH),
// acting on the World's state and recording every call. No shell script
// ever sees host data.
func TestMain(m *testing.M) {
	if fbsdnettest.IsFake(os.Args[0]) {
		os.Exit(fbsdnettest.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// fakeWorld makes a simulated system in dir, links the test binary as
// its commands, and puts them alone on PATH.
func fakeWorld(t *testing.T, dir string) *fbsdnettest.World {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w, err := fbsdnettest.NewWorld(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Install(self); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", w.Bin)
	t.Setenv(fbsdnettest.StateEnv, filepath.Join(w.Dir, "state.json"))
	// A race-enabled binary sleeps a second before exiting by default;
	// the fakes have nothing to report.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return w
}

// ranCommands lists the argument vectors of the commands run so far.
func ranCommands(t *testing.T, w *fbsdnettest.World) [][]string {
	t.Helper()
	argvs, err := w.Argvs()
	if err != nil {
		t.Fatal(err)
	}
	return argvs
}
