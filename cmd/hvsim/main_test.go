package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/vss/vsstest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The README's first command, in its scripted form, on each protocol
// (-protocol): the host receives the ten auto-pool items, the pushed
// items land in the pool files, a backup cycle is answered in the
// protocol's terms, /metrics answers, and the agent stops cleanly. The VF
// story is told on both: FreeBSD's against a simulated devd and hn(4),
// Linux's in a network namespace standing in for hv_netvsc, which needs
// root and ip(8) (CI has both); without them the demo says why in one
// line and goes on without it.
func TestDemoOnce(t *testing.T) {
	loop := vsstest.CanMountLoopFS() == "" // root with loop devices: a real cycle on the demo's own image
	noNetns := linuxVFUnavailable()
	if noNetns != "" && os.Getenv("CI") == "true" {
		t.Fatalf("the Linux VF story cannot run (%s), and CI must show it", noNetns)
	}
	linuxVF := []string{
		"hvsim: the agent runs in network namespace hvsim-",
		"host: servicing: removing VF enP30832s1 from eth0",
		"INFO VF state: subsystem=vf hn=eth0 vf=enP30832s1 state=datapath_on_vf",
		// The data path away, then the VF, as hv_netvsc does it.
		"VF state changed: subsystem=vf hn=eth0 vf=enP30832s1 from=datapath_on_vf to=vf_attached",
		"VF state changed: subsystem=vf hn=eth0 vf=enP30832s1 from=vf_attached to=no_vf",
		"host: servicing done: VF enP30832s1 returns to eth0",
		"VF datapath restored: subsystem=vf hn=eth0 vf=enP30832s1 from=vf_attached to=datapath_on_vf degraded_for=",
		`hvagent_vf_transitions_total{direction="to_synthetic",hn="eth0"} 1`,
		`hvagent_vf_transitions_total{direction="to_vf",hn="eth0"} 1`,
		`hvagent_vf_degraded_duration_seconds_count{hn="eth0"} 1`,
		// hv_netvsc's kernel-log lines reach the agent through the FIFO:
		// the demo's first round waits for their counts (netvscSim.counted).
		// The host asks about the stand-in synthetic NIC, the adapter the
		// agent sees in the namespace.
		"host: GET_IP_INFO 00-15-5D-E2-E0-17: HV_S_OK: addresses 10.0.0.4;fd00::4, subnets 255.255.255.0;/64, gateways 10.0.0.1",
	}
	linuxLacks := []string{"no VF servicing", "hn0", "mce0"}
	if noNetns != "" {
		linuxVF = []string{"hvsim: no VF servicing on the linux protocol: " + noNetns + "; to see hv_netvsc's VF story, run the demo as root"}
		linuxLacks = []string{"removing VF", "hvagent_vf_"}
	}
	for _, tt := range []struct {
		proto kvp.Protocol
		wants []string
		// loopWants and refusedWants are the VSS lines with a demo image
		// to freeze and without one.
		loopWants, refusedWants []string
		lacks                   []string
	}{
		{
			proto: kvp.FreeBSD,
			wants: []string{
				"on simulated FreeBSD kernel devices",
				"host: servicing: removing VF mce0 from hn0",
				"VF state changed: subsystem=vf hn=hn0 vf=mce0 from=datapath_on_vf to=no_vf",
				"VF datapath restored",
				`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"} 1`,
				`hvagent_vf_degraded_duration_seconds_count{hn="hn0"} 1`,
			},
			loopWants:    []string{"THAW): CHECK ok in"},
			refusedWants: []string{"THAW): CHECK refused in", `hvagent_vss_operations_total{operation="check",result="failure"} 1`},
			lacks:        []string{"HOT_BACKUP", "no VF servicing"},
		},
		{
			proto: kvp.Linux,
			wants: append([]string{
				"on simulated Linux kernel devices",
				"Linux's VSS protocol has no CHECK",
			}, linuxVF...),
			loopWants: []string{"(HOT_BACKUP, FREEZE, a 2s snapshot, THAW): HOT_BACKUP ok in"},
			refusedWants: []string{"HOT_BACKUP ok in", "FREEZE refused in", "THAW ok in", "the guest refused the FREEZE",
				`hvagent_vss_operations_total{operation="freeze",result="failure"} 1`},
			lacks: append([]string{"CHECK ok", "CHECK refused"}, linuxLacks...),
		},
	} {
		t.Run(tt.proto.String(), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var out syncBuffer
			// The pace of the real demo (main's -every), so that what is
			// counted below is what a newcomer sees.
			if err := run(ctx, options{once: true, listen: addr, every: 15 * time.Second, protocol: tt.proto}, &out); err != nil {
				t.Fatalf("demo failed: %v\n%s", err, out.String())
			}
			got := out.String()
			wants := append([]string{
				"host: enumerated pool 2 (auto): 10 items, ended with HV_S_CONT",
				"IntegrationServicesVersion=",
				"host: pushed 11 items into pool 3 (auto_external)",
				"external       BackupWindow",
				"host: GET_IP_INFO ",
				"guest          GuestNote",
				"(21 rows of the auto pools not shown)",
				`hvagent_kvp_requests_total{operation="set",pool="auto_external",result="ok"} 11`,
				"hvagent stopped cleanly",
			}, tt.wants...)
			if loop {
				wants = append(wants, tt.loopWants...)
				wants = append(wants,
					"a 16 MiB ext4 image of the demo's own",
					"FREEZE ok",
					"THAW ok",
					"INFO frozen: subsystem=vss filesystems=",
					"INFO thawed: subsystem=vss why=\"thaw requested\"",
					"the agent holds its log while filesystems are frozen",
					`hvagent_vss_operations_total{operation="freeze",result="success"} 1`,
					`hvagent_vss_operations_total{operation="thaw",result="success"} 1`,
				)
			} else {
				// Nothing of this machine may be frozen: the agent says so.
				wants = append(wants, tt.refusedWants...)
				wants = append(wants, "nothing to freeze or sync under the policy")
			}
			if macs := machineMACs(); len(macs) > 0 && (tt.proto == kvp.FreeBSD || noNetns != "") {
				// The host asked about this machine's real adapter and
				// got its real addresses back.
				wants = append(wants, "host: GET_IP_INFO "+macs[0]+": HV_S_OK", "addresses")
			}
			for _, want := range wants {
				if !strings.Contains(got, want) {
					t.Errorf("demo output lacks %q", want)
				}
			}
			for _, lack := range tt.lacks {
				if strings.Contains(got, lack) {
					t.Errorf("demo output has %q, which is not this protocol's", lack)
				}
			}
			// No attribute without a value, and the story on about one
			// screen.
			for _, line := range strings.Split(got, "\n") {
				if !strings.Contains(line, "agent |") {
					continue // metric lines may carry an empty label (pool="" for GET_IP_INFO)
				}
				for _, empty := range []string{"=<nil>", "=[]", `=""`} {
					if strings.Contains(line, empty) {
						t.Errorf("an agent log line has an empty attribute %q: %s", empty, line)
					}
				}
			}
			if n := storyLines(got); n > 50 {
				t.Errorf("the story took %d lines; it should fit about one screen (≈ 40)", n)
			}
			if ns := netnsName(got); ns != "" {
				if _, err := os.Stat(filepath.Join(netnsRunDir, ns)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("network namespace %s left behind (stat: %v)", ns, err)
					_ = exec.Command("ip", "netns", "del", ns).Run()
				}
			}
			if t.Failed() {
				t.Logf("demo output:\n%s", got)
			}
		})
	}
}

// netnsName is the network namespace the demo says it made, or "".
func netnsName(out string) string {
	_, after, ok := strings.Cut(out, "runs in network namespace ")
	if !ok {
		return ""
	}
	return strings.Fields(after)[0]
}

// Where the Linux VF story cannot run (here: a capability check that
// says the demo is not root), the demo says why and how to see it in one
// line, runs the agent without its vf subsystem and makes no namespace;
// KVP and VSS go on as before.
func TestDemoLinuxWithoutNetns(t *testing.T) {
	const why = "not running as root, which making a network namespace needs"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	o := options{once: true, listen: freeAddr(t), agent: testAgent(t), every: time.Second, protocol: kvp.Linux,
		linuxVF: func() string { return why }}
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	got := out.String()
	line := "hvsim: no VF servicing on the linux protocol: " + why +
		"; to see hv_netvsc's VF story, run the demo as root on Linux with ip(8) (iproute2)\n"
	if strings.Count(got, line) != 1 {
		t.Errorf("the demo did not say once, in one line, %q", line)
	}
	for _, want := range []string{`subsystems="[kvp vss]"`, "host: pushed 11 items into pool 3", "hvagent stopped cleanly"} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, lack := range []string{"network namespace hvsim-", "removing VF", "hvagent_vf_"} {
		if strings.Contains(got, lack) {
			t.Errorf("demo output has %q without a VF side", lack)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", got)
	}
}

// freeAddr is a loopback address with a port the kernel picked as free.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// storyLines counts the lines up to the end of the metrics block, where
// the interactive demo says "press Ctrl-C".
func storyLines(out string) int {
	lines := strings.Split(out, "\n")
	n, inMetrics := 0, false
	for _, l := range lines {
		if inMetrics && !strings.HasPrefix(l, "    ") {
			break
		}
		inMetrics = inMetrics || strings.HasPrefix(l, "hvsim: the metrics that moved")
		n++
	}
	return n + 1 // the line of "press Ctrl-C"
}

// hold listens on a free port of the loopback, as another demo or an
// exporter would on 9855, until the test ends.
func hold(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// binDir holds the hvagent that agentBin builds, removed by TestMain.
var binDir string

// agentBin builds hvagent once for the tests that start it directly.
var agentBin = sync.OnceValues(func() (string, error) {
	return buildAgent(context.Background(), binDir)
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hvsim-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testAgent(t *testing.T) string {
	t.Helper()
	bin, err := agentBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// The default port taken: the demo serves on a free one, says which, and
// everything it shows comes from there.
func TestDemoDefaultPortTaken(t *testing.T) {
	taken := hold(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	err := run(ctx, options{once: true, defaultListen: taken, agent: testAgent(t), every: time.Second}, &out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	got := out.String()
	i := strings.Index(got, "hvsim: "+taken+" is in use by another process")
	if i < 0 {
		t.Fatalf("the demo did not say %s is taken:\n%s", taken, got)
	}
	url := strings.Fields(got[i+strings.Index(got[i:], "http://"):])[0]
	for _, want := range []string{
		"metrics at " + url,
		`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "http://"+taken) {
		t.Errorf("the demo names the taken address as its metrics URL:\n%s", got)
	}
}

// An address given with -listen and taken: the demo stops before it
// starts anything, naming the address and the flag.
func TestDemoListenTaken(t *testing.T) {
	taken := hold(t)
	var out syncBuffer
	err := run(context.Background(), options{once: true, listen: taken, defaultListen: defaultListen, agent: "/nonexistent/hvagent"}, &out)
	if err == nil || !strings.Contains(err.Error(), taken) || !strings.Contains(err.Error(), "-listen") {
		t.Fatalf("run = %v, want an error naming %s and -listen", err, taken)
	}
	if out.String() != "" {
		t.Errorf("the demo printed %q before stopping", out.String())
	}
}

// The address taken after the demo checked it: the agent's own word on
// its metrics server stops the demo, not a minute of scraping whatever
// answers there.
func TestDemoAgentCannotBind(t *testing.T) {
	taken := hold(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s, err := startSim(ctx, simConfig{dir: t.TempDir(), agent: testAgent(t), listen: taken, every: time.Second, out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	err = s.waitWeb(ctx)
	if err == nil || !strings.Contains(err.Error(), taken) || !strings.Contains(err.Error(), "address already in use") ||
		!strings.Contains(err.Error(), "-listen") {
		t.Fatalf("waitWeb = %v, want the agent's bind failure on %s\n%s", err, taken, out.String())
	}
}
