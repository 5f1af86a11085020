package fbsdnettest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Hook names: the administrators' programs the agent may run. A link to
// the fake program under such a name records that it ran; set-ip-hook
// also keeps a copy of the file it was given (World.HookFiles).
const (
	OverridePrefix = "hyperv_vfup." // hyperv_vfup.hnN
	SetIPHook      = "set-ip-hook"
)

// IsFake reports whether argv0 names one of the fake commands; a test
// binary's TestMain calls Main then.
func IsFake(argv0 string) bool {
	base := filepath.Base(argv0)
	return (slices.Contains(FakeNames, base) || base == SetIPHook || strings.HasPrefix(base, OverridePrefix)) &&
		os.Getenv(StateEnv) != ""
}

// Main runs the fake named by args[0] against the state file named in
// the environment and returns its exit status. Every call is recorded.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	path := os.Getenv(StateEnv)
	dir := filepath.Dir(path)
	name := filepath.Base(args[0])
	argv := append([]string{name}, args[1:]...)
	code := 0
	var blocked bool
	err := update(path, func(st *State) { blocked = slices.Contains(st.Block, name) })
	if err == nil && blocked {
		waitRelease(dir)
	}
	if err == nil {
		err = update(path, func(st *State) {
			if c, ok := failure(st, argv); ok {
				fmt.Fprintf(stderr, "%s: simulated failure\n", name)
				code = c
				return
			}
			code = run(st, dir, argv, stdin, stdout, stderr)
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s (fbsdnettest): %v\n", name, err)
		code = 70
	}
	if err := appendCall(filepath.Join(dir, "calls.jsonl"), Call{Argv: argv, Code: code}); err != nil {
		fmt.Fprintf(stderr, "%s (fbsdnettest): %v\n", name, err)
	}
	return code
}

// waitRelease waits, a minute at most, for World.Release.
func waitRelease(dir string) {
	for range 6000 {
		if _, err := os.Stat(filepath.Join(dir, "release")); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failure finds the State.Fail entry matching argv.
func failure(st *State, argv []string) (int, bool) {
	for key, code := range st.Fail {
		words := strings.Fields(key)
		if len(words) == 0 || words[0] != argv[0] {
			continue
		}
		if !slices.ContainsFunc(words[1:], func(w string) bool { return !slices.Contains(argv[1:], w) }) {
			return code, true
		}
	}
	return 0, false
}

func run(st *State, dir string, argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch argv[0] {
	case "sysctl":
		return sysctl(st, argv[1:], stdout, stderr)
	case "sysrc":
		return sysrc(dir, argv[1:], stdout, stderr)
	case "service":
		return service(st, argv[1:], stdout, stderr)
	case "dhclient":
		return dhclient(st, argv[1:], stderr)
	case "ifconfig":
		return ifconfig(st, argv[1:], stdout, stderr)
	case "route":
		return route(st, argv[1:], stdout, stderr)
	case "resolvconf":
		return resolvconf(dir, argv[1:], stdin, stderr)
	case SetIPHook:
		return setIPHook(dir, argv[1:], stderr)
	}
	if strings.HasPrefix(argv[0], OverridePrefix) {
		return 0
	}
	return 127
}

func sysctl(st *State, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "-n" {
		fmt.Fprintln(stderr, "usage: sysctl -n name")
		return 64
	}
	v, ok := st.Sysctl[args[1]]
	if !ok {
		fmt.Fprintf(stderr, "sysctl: unknown oid '%s'\n", args[1])
		return 1
	}
	fmt.Fprintln(stdout, v)
	return 0
}

// resolvconf models openresolv's record keeping: -a <name> stores
// standard input as the record interfaces/<name>, -d <name> removes it.
func resolvconf(dir string, args []string, stdin io.Reader, stderr io.Writer) int {
	if len(args) != 2 || (args[0] != "-a" && args[0] != "-d") || strings.ContainsRune(args[1], '/') {
		fmt.Fprintln(stderr, "usage: resolvconf -a|-d name")
		return 64
	}
	path := filepath.Join(dir, "resolvconf", "interfaces", args[1])
	var err error
	if args[0] == "-a" {
		var b []byte
		if b, err = io.ReadAll(stdin); err == nil {
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				err = os.WriteFile(path, b, 0o644)
			}
		}
	} else {
		err = os.Remove(path)
	}
	if err != nil {
		fmt.Fprintln(stderr, "resolvconf:", err)
		return 1
	}
	return 0
}

// setIPHook appends the file it was given to the World's HookFiles.
func setIPHook(dir string, args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: set-ip-hook file")
		return 64
	}
	b, err := os.ReadFile(args[0])
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(filepath.Join(dir, "hookfiles"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			_, err = f.Write(b)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "set-ip-hook:", err)
		return 1
	}
	return 0
}
