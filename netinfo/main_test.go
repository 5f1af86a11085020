package netinfo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeCommands are the commands SET_IP_INFO runs. The test binary plays
// each of them when started under its name (a symlink in a bin dir put
// on PATH): it appends its argument vector to $HVAGENT_FAKE_LOG and
// exits 0, or 1 if its name is in $HVAGENT_FAKE_FAIL. No shell script
// ever sees host data.
var fakeCommands = []string{"sysrc", "ifconfig", "route", "service", "set-ip-hook"}

const (
	fakeLogEnv  = "HVAGENT_FAKE_LOG"
	fakeFailEnv = "HVAGENT_FAKE_FAIL"
)

func TestMain(m *testing.M) {
	if name := filepath.Base(os.Args[0]); slices.Contains(fakeCommands, name) {
		os.Exit(fakeMain(name))
	}
	os.Exit(m.Run())
}

func fakeMain(name string) int {
	argv := append([]string{name}, os.Args[1:]...)
	line, _ := json.Marshal(argv)
	f, err := os.OpenFile(os.Getenv(fakeLogEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintf(f, "%s\n", line)
	f.Close()
	if name == "set-ip-hook" && len(os.Args) > 1 {
		// Keep a copy of the file the hook was given.
		if b, err := os.ReadFile(os.Args[1]); err == nil {
			_ = os.WriteFile(os.Getenv(fakeLogEnv)+".hookfile", b, 0o600)
		}
	}
	if slices.Contains(strings.Split(os.Getenv(fakeFailEnv), ","), name) {
		fmt.Fprintln(os.Stderr, name+": simulated failure")
		return 1
	}
	return 0
}

// fakeBin makes a directory of fake commands, puts it alone on PATH and
// returns it with the path of the log the fakes write.
func fakeBin(t *testing.T, names ...string) (dir, logPath string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		names = fakeCommands[:4]
	}
	for _, n := range names {
		if err := os.Symlink(self, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	logPath = filepath.Join(dir, "commands.log")
	t.Setenv("PATH", bin)
	t.Setenv(fakeLogEnv, logPath)
	t.Setenv(fakeFailEnv, "")
	// A race-enabled binary sleeps a second before exiting by default;
	// the fakes have nothing to report.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return dir, logPath
}

// ranCommands reads the fakes' log: one argument vector per command run.
func ranCommands(t *testing.T, logPath string) [][]string {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var argv []string
		if err := json.Unmarshal([]byte(line), &argv); err != nil {
			t.Fatalf("fake log line %q: %v", line, err)
		}
		out = append(out, argv)
	}
	return out
}
