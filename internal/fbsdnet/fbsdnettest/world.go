package fbsdnettest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// StateEnv names the state file in the fakes' environment.
const StateEnv = "HVAGENT_VFTEST_STATE"

// FakeNames are the commands World simulates.
var FakeNames = []string{"sysctl", "ifconfig", "sysrc", "service", "dhclient", "route", "resolvconf"}

// Iface is a simulated network interface.
type Iface struct {
	Up    bool     `json:"up,omitempty"`
	Inet  []string `json:"inet,omitempty"`  // IPv4 addresses, "10.0.0.4/24"
	Inet6 []string `json:"inet6,omitempty"` // IPv6 addresses, "2001:db8::4/64"
	Proto string   `json:"proto,omitempty"` // laggproto
	Ports []string `json:"ports,omitempty"` // laggports
	Args  []string `json:"args,omitempty"`  // other ifconfig arguments applied
}

// State is the simulated system.
type State struct {
	Sysctl map[string]string `json:"sysctl"`
	// RC is rc.conf's assignments, read from the World's rc.conf before
	// an Update and written back to it, as sysrc would, after one.
	RC       map[string]string `json:"-"`
	Ifaces   map[string]*Iface `json:"ifaces"`
	Dhclient map[string]bool   `json:"dhclient"` // interface -> running
	// Routes holds the default route of each family, "inet" and
	// "inet6": the gateway.
	Routes map[string]string `json:"routes,omitempty"`
	// Fail makes commands fail with the given exit status. A key is a
	// command name and words: it matches a call of that command whose
	// arguments include every word ("sysrc", "route delete",
	// "ifconfig lagg0 create").
	Fail map[string]int `json:"fail,omitempty"`
	// Block names commands that wait, before they do anything, until
	// World.Release is called.
	Block []string `json:"block,omitempty"`
}

// Call is one recorded command.
type Call struct {
	Argv []string `json:"argv"`
	Code int      `json:"code"`
}

func (c Call) String() string { return strings.Join(c.Argv, " ") }

// World is a simulated system in a directory.
type World struct {
	Dir string
	Bin string // put first on the agent's PATH
}

// NewWorld creates dir/bin, an empty rc.conf and an empty state. The
// resolvconf record directory appears with the first record, as
// resolvconf(8) makes it.
func NewWorld(dir string) (*World, error) {
	w := &World{Dir: dir, Bin: filepath.Join(dir, "bin")}
	if err := os.MkdirAll(w.Bin, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(w.RCConf(), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	f.Close()
	return w, w.Update(func(*State) {})
}

func (w *World) statePath() string { return filepath.Join(w.Dir, "state.json") }
func (w *World) callsPath() string { return filepath.Join(w.Dir, "calls.jsonl") }

// RCConf is the simulated /etc/rc.conf.
func (w *World) RCConf() string { return filepath.Join(w.Dir, "rc.conf") }

// ResolvconfDB is the fake resolvconf(8)'s state directory: its records
// are interfaces/<name>.
func (w *World) ResolvconfDB() string { return filepath.Join(w.Dir, "resolvconf") }

// HookFiles holds, one after the other, every file set-ip-hook was given.
func (w *World) HookFiles() string { return filepath.Join(w.Dir, "hookfiles") }

// Release lets blocked commands go on.
func (w *World) Release() error { return os.WriteFile(filepath.Join(w.Dir, "release"), nil, 0o600) }

// Install links exe (os.Executable of the test, or BuildFakes' program)
// under every fake name in w.Bin.
func (w *World) Install(exe string) error {
	for _, n := range FakeNames {
		p := filepath.Join(w.Bin, n)
		os.Remove(p)
		if err := os.Symlink(exe, p); err != nil {
			return err
		}
	}
	return nil
}

// Env returns the environment for the agent: PATH starting with w.Bin,
// and the state file for the fakes.
func (w *World) Env() []string {
	env := slices.DeleteFunc(os.Environ(), func(s string) bool {
		return strings.HasPrefix(s, "PATH=") || strings.HasPrefix(s, StateEnv+"=")
	})
	return append(env, "PATH="+w.Bin+string(filepath.ListSeparator)+os.Getenv("PATH"), StateEnv+"="+w.statePath())
}

// Update changes the state under the lock the fakes take.
func (w *World) Update(fn func(*State)) error { return update(w.statePath(), fn) }

// Read returns a copy of the state.
func (w *World) Read() (State, error) {
	var st State
	err := update(w.statePath(), func(s *State) { st = *s })
	return st, err
}

// Calls returns the commands run so far, in order.
func (w *World) Calls() ([]Call, error) {
	f, err := os.Open(w.callsPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Call
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var c Call
			if err := json.Unmarshal(line, &c); err != nil {
				return nil, fmt.Errorf("fbsdnettest: calls log: %w", err)
			}
			out = append(out, c)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// Argvs returns the argument vectors of the commands run so far.
func (w *World) Argvs() ([][]string, error) {
	calls, err := w.Calls()
	var out [][]string
	for _, c := range calls {
		out = append(out, c.Argv)
	}
	return out, err
}

// update runs fn on the state in path, rc.conf included, under an
// exclusive flock, and writes both back.
func update(path string, fn func(*State)) error {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	st := State{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("fbsdnettest: state %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, m := range []*map[string]string{&st.Sysctl, &st.Routes} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	if st.Ifaces == nil {
		st.Ifaces = map[string]*Iface{}
	}
	if st.Dhclient == nil {
		st.Dhclient = map[string]bool{}
	}
	rcPath := filepath.Join(filepath.Dir(path), "rc.conf")
	rc, err := os.ReadFile(rcPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	st.RC = fbsdnet.Parse(rc)
	before := maps.Clone(st.RC)
	fn(&st)
	if !maps.Equal(before, st.RC) {
		if err := os.WriteFile(rcPath, []byte(rcDiff(string(rc), before, st.RC)), 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(&st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// rcDiff applies the difference between two views of rc.conf to its
// text as sysrc would: removed names deleted, changed and new ones set.
func rcDiff(text string, before, after map[string]string) string {
	var del, set []string
	for n := range before {
		if _, ok := after[n]; !ok {
			del = append(del, n)
		}
	}
	for n, v := range after {
		if old, ok := before[n]; !ok || old != v {
			set = append(set, n+"="+v)
		}
	}
	slices.Sort(del)
	slices.Sort(set)
	return SysrcEdit(SysrcEdit(text, del, true), set, false)
}

func appendCall(path string, c Call) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	b, _ := json.Marshal(c)
	_, err = f.Write(append(b, '\n'))
	return err
}
