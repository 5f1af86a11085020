package netinfo

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/kvp"
)

// installHook puts a copy of the test binary at path, mode 0755: run as
// set-ip-hook, it plays the fake hook.
func installHook(t *testing.T, path string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestSetIPInfoHook(t *testing.T) {
	e := newApplyEnv(t, []Link{
		{Name: "hn0", MAC: mustMAC(macHN0)},
		{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24")},
	})
	installHook(t, e.cfg.Hook)
	st := e.set(kvp.IPInfo{AdapterID: "hn0", AddrFamily: 3, IPAddr: "192.0.2.10;2001:db8::10", SubNet: "255.255.255.0;/64",
		Gateway: "192.0.2.1;fe80::1", DNSAddr: "192.0.2.53"})
	if st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	if got, want := ranCommands(t, e.world), [][]string{{"set-ip-hook", e.cfg.HookFile}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %q, want only the hook: %q", got, want)
	}
	want := `# SET_IP_INFO from the Hyper-V host, validated by hvagent; see hvagent(8).
INTERFACE="hn0"
TARGET="lagg0"
DHCP="no"
IPV4_ADDRESSES="192.0.2.10/24"
IPV6_ADDRESSES="2001:db8::10/64"
IPV4_GATEWAYS="192.0.2.1"
IPV6_GATEWAYS="fe80::1%lagg0"
DNS_SERVERS="192.0.2.53"
`
	if got, err := os.ReadFile(e.world.HookFiles()); err != nil || string(got) != want {
		t.Fatalf("hook file (%v):\n%s\nwant:\n%s", err, got, want)
	}
	if st, _ := os.Stat(e.cfg.HookFile); st.Mode().Perm() != 0o600 {
		t.Errorf("hook file mode %v, want 0600", st.Mode().Perm())
	}
	if e.file("resolv.conf") != origResolv {
		t.Error("resolv.conf changed although the hook handles the request")
	}
	// The hook runs after the reply: its failure is logged and counted.
	e.fail("set-ip-hook")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusOK {
		t.Fatalf("failing hook: status %v, want HV_S_OK", st)
	}
	if v := testutil.ToFloat64(e.metrics.ApplyFailures); v != 1 || !strings.Contains(e.logs.String(), "set-ip-hook: simulated failure") {
		t.Errorf("failing hook: apply failures %v, log:\n%s", v, e.logs)
	}
}

// heldHook is a Runner that holds the first run of hook until release
// is closed, having closed started: the test knows that request's
// apply has left the queue and is running. Every command, the hook
// included, then runs as next runs it.
type heldHook struct {
	next    Runner
	hook    string
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *heldHook) Run(ctx context.Context, c command.Cmd) command.Result {
	if len(c.Argv) > 0 && c.Argv[0] == h.hook {
		h.once.Do(func() {
			close(h.started)
			select {
			case <-h.release:
			case <-ctx.Done():
			}
		})
	}
	return h.next.Run(ctx, c)
}

// Requests are handed to the hook one at a time, in order, each with
// its own file, even when the next arrives while the first's hook
// runs; of the requests for the interface that arrive meanwhile, only
// the newest is handed on, the one it replaces never is (hvagent(8),
// The set-ip hook). The test waits until the first hook has started
// before sending the others: sent earlier, the first would be waiting
// too, and rightly superseded.
func TestSetIPInfoHookInOrder(t *testing.T) {
	e := newApplyEnv(t, nil)
	installHook(t, e.cfg.Hook)
	h := &heldHook{next: ExecRunner{}, hook: e.cfg.Hook, started: make(chan struct{}), release: make(chan struct{})}
	cfg := e.cfg
	cfg.Run = h
	svc := New(cfg)
	t.Cleanup(func() { closeOnce(h.release); svc.Wait() })
	set := func(ip string) {
		t.Helper()
		if st := svc.SetIPInfo(kvp.IPInfo{AdapterID: "hn0", IPAddr: ip, SubNet: "/24"}); st != kvp.StatusOK {
			t.Fatalf("%s: status %v\n%s", ip, st, e.logs)
		}
	}
	set("192.0.2.10")
	<-h.started
	set("192.0.2.20") // waits behind the running hook
	set("192.0.2.30") // replaces 192.0.2.20
	closeOnce(h.release)
	svc.Wait()

	b, err := os.ReadFile(e.world.HookFiles())
	if err != nil {
		t.Fatal(err)
	}
	var saw []string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "IPV4_ADDRESSES="); ok {
			saw = append(saw, v)
		}
	}
	if want := []string{`"192.0.2.10/24"`, `"192.0.2.30/24"`}; !slices.Equal(saw, want) {
		t.Fatalf("the hook saw addresses %q, want %q; its files:\n%s", saw, want, b)
	}
	hook := []string{"set-ip-hook", e.cfg.HookFile}
	if got := ranCommands(t, e.world); !slices.EqualFunc(got, [][]string{hook, hook}, slices.Equal) {
		t.Errorf("commands %q, want the hook twice", got)
	}
	if v := testutil.ToFloat64(e.metrics.Superseded); v != 1 {
		t.Errorf("superseded %v, want 1", v)
	}
	var superseded []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "set_ip_info superseded") {
			superseded = append(superseded, line)
		}
	}
	if len(superseded) != 1 || !strings.Contains(superseded[0], "192.0.2.20/24") {
		t.Errorf("superseded requests logged %q, want one, 192.0.2.20's", superseded)
	}
}

// A hook that is there but may not be trusted, or cannot run, is not
// run, and the request is not applied natively behind the
// administrator's back either: HV_E_FAIL, nothing run or written.
func TestSetIPInfoUnusableHook(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *applyEnv)
		log   string
	}{
		{"writable by others", func(e *applyEnv) { os.Chmod(e.cfg.Hook, 0o757) }, "writable by group or others"},
		{"not executable", func(e *applyEnv) { os.Chmod(e.cfg.Hook, 0o644) }, "not executable"},
		{"symlink", func(e *applyEnv) {
			real := filepath.Join(e.dir, "real-hook")
			installHook(e.t, real)
			os.Remove(e.cfg.Hook)
			os.Symlink(real, e.cfg.Hook)
		}, "symbolic link"},
		{"directory", func(e *applyEnv) { os.Remove(e.cfg.Hook); os.Mkdir(e.cfg.Hook, 0o755) }, "not a regular file"},
		{"other owner", func(e *applyEnv) { e.cfg.HookOwner = os.Getuid() + 1 }, "refusing to run it"},
		{"directory writable by group", func(e *applyEnv) { os.Chmod(filepath.Dir(e.cfg.Hook), 0o775) }, "libexec is writable by group or others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t, nil)
			installHook(t, e.cfg.Hook)
			tt.setup(e)
			e.svc = New(e.cfg)
			if st := e.svc.SetIPInfo(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusFail {
				t.Fatalf("status %v, want HV_E_FAIL\n%s", st, e.logs)
			}
			e.svc.Wait()
			if cmds := ranCommands(t, e.world); len(cmds) != 0 {
				t.Fatalf("ran %q", cmds)
			}
			if _, err := os.Stat(e.cfg.HookFile); !os.IsNotExist(err) {
				t.Fatalf("hook file written (%v)", err)
			}
			if !strings.Contains(e.logs.String(), tt.log) {
				t.Errorf("refusal not logged with %q:\n%s", tt.log, e.logs)
			}
		})
	}
}
