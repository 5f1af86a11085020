package netinfo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeCommands are the commands SET_IP_INFO runs. The test binary plays
// each of them when started under its name (a symlink in a bin dir put
// on PATH): it appends its argument vector to $HVAGENT_FAKE_LOG and
// exits 0, or 1 if its name is in $HVAGENT_FAKE_FAIL. No shell script
// ever sees host data.
var fakeCommands = []string{"sysrc", "ifconfig", "route", "service", "resolvconf", "set-ip-hook"}

const (
	fakeLogEnv   = "HVAGENT_FAKE_LOG"
	fakeFailEnv  = "HVAGENT_FAKE_FAIL"
	fakeBlockEnv = "HVAGENT_FAKE_BLOCK" // these wait for <log>.release
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
	if slices.Contains(strings.Split(os.Getenv(fakeBlockEnv), ","), name) {
		for i := 0; i < 6000; i++ {
			if _, err := os.Stat(os.Getenv(fakeLogEnv) + ".release"); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if fakeFails(name, os.Args[1:]) {
		fmt.Fprintln(os.Stderr, name+": simulated failure")
		return 1
	}
	switch name {
	case "sysrc":
		if err := fakeSysrc(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "sysrc:", err)
			return 1
		}
	case "resolvconf":
		if err := fakeResolvconf(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "resolvconf:", err)
			return 1
		}
	case "service":
		if msg := fakeServicePrecheck(os.Args[1:]); msg != "" {
			fmt.Println(msg)
			return 1
		}
	}
	if name == "set-ip-hook" && len(os.Args) > 1 {
		// Keep a copy of each file the hook was given, in order.
		if b, err := os.ReadFile(os.Args[1]); err == nil {
			if f, err := os.OpenFile(os.Getenv(fakeLogEnv)+".hookfile", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
				f.Write(b)
				f.Close()
			}
		}
	}
	return 0
}

// fakeFails: $HVAGENT_FAKE_FAIL lists "name" (always fail) or
// "name:arg" (fail when arg is among the arguments).
func fakeFails(name string, args []string) bool {
	for _, f := range strings.Split(os.Getenv(fakeFailEnv), ",") {
		n, arg, hasArg := strings.Cut(f, ":")
		if n == name && (!hasArg || slices.Contains(args, arg)) {
			return true
		}
	}
	return false
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
		names = fakeCommands[:5]
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
	t.Setenv(fakeBlockEnv, "")
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
