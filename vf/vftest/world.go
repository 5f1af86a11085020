package vftest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// StateEnv names the state file in the fakes' environment.
const StateEnv = "HVAGENT_VFTEST_STATE"

// FakeNames are the commands World simulates.
var FakeNames = []string{"sysctl", "ifconfig", "sysrc", "service", "dhclient"}

// Iface is a simulated network interface.
type Iface struct {
	Up    bool     `json:"up,omitempty"`
	Inet  []string `json:"inet,omitempty"`  // IPv4 addresses, "10.0.0.4/24"
	Proto string   `json:"proto,omitempty"` // laggproto
	Ports []string `json:"ports,omitempty"` // laggports
	Args  []string `json:"args,omitempty"`  // other ifconfig arguments applied
}

// State is the simulated system.
type State struct {
	Sysctl   map[string]string `json:"sysctl"`
	RC       map[string]string `json:"rc"`
	Ifaces   map[string]*Iface `json:"ifaces"`
	Dhclient map[string]bool   `json:"dhclient"` // interface -> running
	// Fail makes a command fail: the key is the argument vector joined
	// with spaces, the value the exit status.
	Fail map[string]int `json:"fail,omitempty"`
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

// NewWorld creates dir/bin and an empty state.
func NewWorld(dir string) (*World, error) {
	w := &World{Dir: dir, Bin: filepath.Join(dir, "bin")}
	if err := os.MkdirAll(w.Bin, 0o755); err != nil {
		return nil, err
	}
	return w, w.Update(func(*State) {})
}

func (w *World) statePath() string { return filepath.Join(w.Dir, "state.json") }
func (w *World) callsPath() string { return filepath.Join(w.Dir, "calls.jsonl") }

// Install links exe (usually os.Executable of the test) under every
// fake name in w.Bin.
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
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("vftest: calls log: %w", err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// update runs fn on the state in path under an exclusive flock, and
// writes the state back.
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
			return fmt.Errorf("vftest: state %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if st.Sysctl == nil {
		st.Sysctl = map[string]string{}
	}
	if st.RC == nil {
		st.RC = map[string]string{}
	}
	if st.Ifaces == nil {
		st.Ifaces = map[string]*Iface{}
	}
	if st.Dhclient == nil {
		st.Dhclient = map[string]bool{}
	}
	fn(&st)
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
