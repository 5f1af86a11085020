package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hvagent/hvagent/internal/gotool"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

type simConfig struct {
	dir, agent, listen string
	every              time.Duration
	protocol           kvp.Protocol // the simulated kernels' and the agent's
	out                io.Writer
	// linuxVF says why the Linux protocol's VF side cannot run here, or
	// "" when it can; nil means linuxVFUnavailable.
	linuxVF func() string
}

// systemName is each protocol's system, as the demo names it.
var systemName = map[kvp.Protocol]string{kvp.FreeBSD: "FreeBSD", kvp.Linux: "Linux"}

// sim is one running simulation: the fake kernel and host, and the agent.
type sim struct {
	cfg    simConfig
	kernel *kvptest.Kernel
	host   *kvptest.Host
	agent  *exec.Cmd
	events chan kvptest.Event
	vss    *vssDemo          // nil where the agent cannot read a mount table
	macs   []string          // this machine's adapters, asked about with GET_IP_INFO
	vf     vfSide            // the VF side (vf.go); nil where it cannot run
	web    chan webStatus    // the agent's first word on its metrics server (relay)
	shown  map[string]string // what report last printed of each pool and adapter
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // serialises writes to cfg.out
}

// adminItems are what an administrator pushes from the host (pool 0).
var adminItems = []kvp.KeyValue{
	{Key: "BackupWindow", Value: "02:00-04:00"},
	{Key: "Owner", Value: "platform-team"},
}

func buildAgent(ctx context.Context, dir string) (string, error) {
	goBin, err := gotool.Path()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hvagent")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/hvagent/hvagent/cmd/hvagent")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building hvagent: %w", err)
	}
	return bin, nil
}

func startSim(ctx context.Context, cfg simConfig) (_ *sim, err error) {
	k, err := kvptest.NewKernel(filepath.Join(cfg.dir, "kvp.sock"), kvptest.KernelOptions{Protocol: cfg.protocol})
	if err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, kernel: k, host: kvptest.NewHost(k), events: make(chan kvptest.Event, 64), macs: machineMACs(),
		web: make(chan webStatus, 1), shown: map[string]string{}}
	defer func() {
		if err != nil {
			k.Close()
			if s.vss != nil {
				s.vss.close()
			}
			if s.vf != nil {
				s.vf.close()
			}
		}
	}()
	noVF := ""
	if s.vf, noVF, err = newVFSide(ctx, cfg); err != nil {
		return nil, err
	}
	if s.vf != nil && s.vf.macs() != nil {
		s.macs = s.vf.macs()
	}
	if s.vss, err = newVSSDemo(cfg.dir, cfg.protocol, s.printf); err != nil {
		return nil, err
	}
	agentListen := cfg.listen
	if s.vf != nil {
		if agentListen, err = s.vf.listen(cfg.listen); err != nil {
			return nil, err
		}
	}
	// The protocol always named: the agent's default is the system's.
	args := []string{"run",
		"--kvp.protocol", cfg.protocol.String(),
		"--vss.protocol", cfg.protocol.String(),
		"--kvp.device", k.Path(),
		"--kvp.pool-dir", s.poolDir(),
		"--web.listen-address", agentListen}
	var disable []string
	if s.vf != nil {
		args = append(args, s.vf.agentArgs()...)
	} else {
		disable = append(disable, "vf")
	}
	if s.vss != nil {
		args = append(args, s.vss.agentArgs()...)
	} else {
		disable = append(disable, "vss")
	}
	if len(disable) > 0 {
		args = append(args, "--disable", strings.Join(disable, ","))
	}
	s.agent = exec.Command(cfg.agent, args...)
	// A plain pipe rather than StderrPipe: relay reads to EOF, which
	// comes when the agent exits, so no log line is lost to Wait.
	stderr, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.agent.Stderr = w
	if s.vf != nil {
		err = s.vf.start(s.agent)
	} else {
		err = s.agent.Start()
	}
	w.Close()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("starting %s: %w", cfg.agent, err)
	}
	s.printf("hvsim: started hvagent (pid %d) on simulated %s kernel devices in %s; metrics at http://%s/metrics\n",
		s.agent.Process.Pid, systemName[cfg.protocol], cfg.dir, cfg.listen)
	switch {
	case noVF != "":
		s.printf("hvsim: no VF servicing on the %s protocol: %s; to see hv_netvsc's VF story, "+
			"run the demo as root on Linux with ip(8) (iproute2)\n", cfg.protocol, noVF)
	default:
		s.printf("%s", s.vf.describe())
	}
	s.wg.Go(func() { s.relay(stderr) })

	hctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.wg.Go(func() {
		_ = s.host.Run(hctx, kvptest.HostOptions{
			PushParams:     kvptest.DefaultParams("hvsim-demo"),
			PushAdmin:      adminItems,
			MACs:           s.macs,
			EnumerateEvery: cfg.every,
			OnEvent: func(e kvptest.Event) {
				s.report(e)
				select {
				case s.events <- e:
				default:
				}
			},
		})
	})
	if s.vss != nil {
		s.wg.Go(func() { s.vss.run(hctx, cfg.every, s.printf) })
	}
	return s, nil
}

func (s *sim) poolDir() string { return filepath.Join(s.cfg.dir, "pool") }

func (s *sim) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.cfg.out, format, args...)
}

// report prints what the simulated host saw. The items of a pool and
// the answer about an adapter are printed when they are new or changed;
// an enumeration that found them as before says so in one line.
func (s *sim) report(e kvptest.Event) {
	switch e.Kind {
	case kvptest.EventRegistered, kvptest.EventUnregistered:
		s.printf("host: daemon %s\n", e.Kind)
	case kvptest.EventPushed:
		s.printf("host: pushed %d items into pool %d (%s): %s\n", len(e.Items), e.Pool, kvp.PoolName(int(e.Pool)), e.Status)
	case kvptest.EventEnumerated:
		var kv []string
		for _, it := range e.Items {
			kv = append(kv, it.Key+"="+it.Value)
		}
		items := strings.Join(kv, ", ")
		head := fmt.Sprintf("host: enumerated pool %d (%s): %s, ended with %s", e.Pool, kvp.PoolName(int(e.Pool)), count(len(e.Items), "item"), e.Status)
		s.printOnce(fmt.Sprint("pool ", e.Pool), head, items)
	case kvptest.EventIPInfo:
		s.reportIPInfo(e)
	default:
		s.printf("host: %s %v\n", e.Kind, e.Err)
	}
}

// printOnce prints "head: body", or "head, as before" when body is what
// was last printed under what.
func (s *sim) printOnce(what, head, body string) {
	switch {
	case body == "":
		s.printf("%s\n", head)
	case s.shown[what] == body:
		s.printf("%s, as before\n", head)
	default:
		s.shown[what] = body
		s.printf("%s", wrap(head+": "+body))
	}
}

// wrap breaks s after a ", " into lines of at most about 120 columns,
// the later ones indented.
func wrap(s string) string {
	const width, indent = 120, "        "
	var b strings.Builder
	line := ""
	for i, p := range strings.SplitAfter(s, ", ") {
		if i > 0 && len(line)+len(p) > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += p
	}
	b.WriteString(line + "\n")
	return b.String()
}

// count is "1 item", "2 items".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// waitWeb waits for the agent to say whether it serves metrics on the
// address it was given. Everything the demo scrapes afterwards is then
// the agent's, not whatever else answers on that port.
func (s *sim) waitWeb(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	select {
	case <-ctx.Done():
		return fmt.Errorf("the agent did not say whether it serves metrics on %s: %w", s.cfg.listen, ctx.Err())
	case st, ok := <-s.web:
		switch {
		case !ok:
			return fmt.Errorf("the agent exited before serving metrics on %s", s.cfg.listen)
		case st.err != "":
			return fmt.Errorf("the agent cannot serve metrics on %s (%s); choose another address with -listen", s.cfg.listen, st.err)
		}
		return nil
	}
}

// firstRound waits until the host pushed its items and enumerated the auto
// pool, then shows the pool files through the agent's own CLI and a
// taste of /metrics. It fails if what the host saw is incomplete.
func (s *sim) firstRound(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	pushed, autoItems, ipInfos := 0, 0, 0
	for pushed < 2 || autoItems == 0 || ipInfos < len(s.macs) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the simulated host did not complete a round: %w", ctx.Err())
		case e := <-s.events:
			switch {
			case e.Kind == kvptest.EventPushed && e.Err == nil:
				pushed++
			case e.Kind == kvptest.EventPushed:
				return fmt.Errorf("push into pool %d failed: %v", e.Pool, e.Err)
			case e.Kind == kvptest.EventEnumerated && e.Pool == kvp.PoolAuto:
				autoItems = len(e.Items)
			case e.Kind == kvptest.EventIPInfo && e.Status == kvp.StatusOK:
				ipInfos++
			case e.Kind == kvptest.EventIPInfo:
				return fmt.Errorf("GET_IP_INFO for this machine's adapter %s: %s %v", e.MAC, e.Status, e.Err)
			}
		}
	}
	if autoItems != 10 {
		return fmt.Errorf("host saw %d auto-pool items, want 10", autoItems)
	}
	// What a guest-side tool would do: publish an item for the host.
	out, err := exec.CommandContext(ctx, s.cfg.agent, "kvp", "set", "--pool-dir", s.poolDir(),
		"--pool", "guest", "GuestNote", "written with 'hvagent kvp set'").CombinedOutput()
	if err != nil {
		return fmt.Errorf("hvagent kvp set: %v: %s", err, out)
	}
	if err := s.showPools(ctx); err != nil {
		return err
	}
	return s.firstBackup(ctx)
}

func (s *sim) showPools(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, s.cfg.agent, "kvp", "list", "--pool-dir", s.poolDir()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("hvagent kvp list: %v: %s", err, out)
	}
	for _, want := range []string{"VirtualMachineName", "BackupWindow", "GuestNote"} {
		if !strings.Contains(string(out), want) {
			return fmt.Errorf("pushed item %s is not in the pool files", want)
		}
	}
	// The rows of the administrator's and the guest's pools; the auto
	// pools hold what the host enumerated and pushed, shown above.
	var rows []string
	auto := 0
	for i, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		switch {
		case i == 0: // the header
		case strings.HasPrefix(l, "auto"):
			auto++
		default:
			rows = append(rows, l)
		}
	}
	s.printf("hvsim: 'hvagent kvp list --pool-dir %s' (%d rows of the auto pools not shown):\n%s",
		s.poolDir(), auto, indent(strings.Join(rows, "\n")))
	return nil
}

// movedFamilies are the series the story moved: KVP requests, VSS
// operations, the VF's transitions and its times away (how long: the
// agent's "VF datapath restored" line).
var movedFamilies = []string{
	"hvagent_kvp_requests_total",
	"hvagent_vss_operations_total",
	"hvagent_vf_transitions_total",
	"hvagent_vf_degraded_duration_seconds_count",
}

// showMetrics prints the series of movedFamilies that are not zero.
func (s *sim) showMetrics(ctx context.Context) error {
	body, err := s.scrape(ctx)
	if err != nil {
		return fmt.Errorf("scrape http://%s/metrics: %w", s.cfg.listen, err)
	}
	var lines []string
	for l := range strings.Lines(body) {
		l = strings.TrimSuffix(l, "\n")
		name, _, _ := strings.Cut(l, "{")
		name, _, _ = strings.Cut(name, " ")
		if slices.Contains(movedFamilies, name) && !strings.HasSuffix(l, " 0") {
			lines = append(lines, l)
		}
	}
	slices.SortStableFunc(lines, func(a, b string) int {
		fa, _, _ := strings.Cut(a, "{")
		fb, _, _ := strings.Cut(b, "{")
		return slices.Index(movedFamilies, strings.Fields(fa)[0]) - slices.Index(movedFamilies, strings.Fields(fb)[0])
	})
	s.printf("hvsim: the metrics that moved (all of them: curl http://%s/metrics):\n%s", s.cfg.listen, indent(strings.Join(lines, "\n")))
	return nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}

// shutdown stops the agent with SIGTERM, as rc.d would, and reports how
// it exited.
func (s *sim) shutdown() error {
	if s.agent.Process == nil || s.agent.ProcessState != nil {
		return nil
	}
	_ = s.agent.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.agent.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("hvagent exited: %w", err)
		}
		s.printf("hvsim: hvagent stopped cleanly\n")
		return nil
	case <-time.After(15 * time.Second):
		_ = s.agent.Process.Kill()
		<-done
		return errors.New("hvagent did not stop within 15 s of SIGTERM")
	}
}

func (s *sim) stop() {
	if s.agent.ProcessState == nil {
		_ = s.agent.Process.Kill()
		_ = s.agent.Wait()
	}
	s.cancel()
	s.kernel.Close()
	if s.vss != nil {
		s.vss.close()
	}
	if s.vf != nil {
		s.vf.close()
	}
	s.wg.Wait()
}
