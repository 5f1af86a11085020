package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

type simConfig struct {
	dir, agent, listen string
	every              time.Duration
	out                io.Writer
}

// sim is one running simulation: the fake kernel and host, and the agent.
type sim struct {
	cfg    simConfig
	kernel *kvptest.Kernel
	host   *kvptest.Host
	agent  *exec.Cmd
	events chan kvptest.Event
	vss    *vssDemo // nil where the agent cannot read a mount table
	macs   []string // this machine's adapters, asked about with GET_IP_INFO
	vf     *vfSim   // the VF side (vf.go)
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
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	bin := filepath.Join(dir, "hvagent")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/hvagent/hvagent/cmd/hvagent")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building hvagent: %w", err)
	}
	return bin, nil
}

func startSim(ctx context.Context, cfg simConfig) (*sim, error) {
	k, err := kvptest.NewKernel(filepath.Join(cfg.dir, "kvp.sock"), kvptest.KernelOptions{})
	if err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, kernel: k, host: kvptest.NewHost(k), events: make(chan kvptest.Event, 64), macs: machineMACs()}
	if s.vf, err = newVFSim(ctx, cfg.dir); err != nil {
		k.Close()
		return nil, err
	}
	if s.vss, err = newVSSDemo(cfg.dir, s.printf); err != nil {
		k.Close()
		s.vf.close()
		return nil, err
	}
	args := append([]string{"run",
		"--kvp.device", k.Path(),
		"--kvp.pool-dir", s.poolDir(),
		"--web.listen-address", cfg.listen}, s.vf.agentArgs()...)
	if s.vss != nil {
		args = append(args, s.vss.agentArgs()...)
	} else {
		args = append(args, "--disable", "vss")
	}
	s.agent = exec.Command(cfg.agent, args...)
	s.agent.Env = s.vf.World.Env() // the fake sysctl first on PATH
	// A plain pipe rather than StderrPipe: relay reads to EOF, which
	// comes when the agent exits, so no log line is lost to Wait.
	stderr, w, err := os.Pipe()
	if err != nil {
		k.Close()
		s.vf.close()
		return nil, err
	}
	s.agent.Stderr = w
	err = s.agent.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		k.Close()
		if s.vss != nil {
			s.vss.close()
		}
		s.vf.close()
		return nil, fmt.Errorf("starting %s: %w", cfg.agent, err)
	}
	s.printf("hvsim: started %s (pid %d) against the simulated kernel at %s\n", cfg.agent, s.agent.Process.Pid, k.Path())
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

// relay prints the agent's log lines, marked as the agent's.
func (s *sim) relay(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s.printf("  agent | %s\n", sc.Text())
	}
}

// report prints what the simulated host saw.
func (s *sim) report(e kvptest.Event) {
	switch e.Kind {
	case kvptest.EventRegistered, kvptest.EventUnregistered:
		s.printf("host: daemon %s\n", e.Kind)
	case kvptest.EventPushed:
		s.printf("host: pushed %d items into pool %d (%s): %s\n", len(e.Items), e.Pool, kvp.PoolName(int(e.Pool)), e.Status)
	case kvptest.EventEnumerated:
		s.printf("host: enumerated pool %d (%s): %d items, ended with %s\n", e.Pool, kvp.PoolName(int(e.Pool)), len(e.Items), e.Status)
		for _, it := range e.Items {
			s.printf("        %-28s %s\n", it.Key, it.Value)
		}
	case kvptest.EventIPInfo:
		s.reportIPInfo(e)
	default:
		s.printf("host: %s %v\n", e.Kind, e.Err)
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
	if err := s.firstBackup(ctx); err != nil {
		return err
	}
	return s.showMetrics(ctx)
}

func (s *sim) showPools(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, s.cfg.agent, "kvp", "list", "--pool-dir", s.poolDir()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("hvagent kvp list: %v: %s", err, out)
	}
	s.printf("\nhvsim: pool files in %s, read back with 'hvagent kvp list':\n%s", s.poolDir(), indent(string(out)))
	for _, want := range []string{"VirtualMachineName", "BackupWindow", "GuestNote"} {
		if !strings.Contains(string(out), want) {
			return fmt.Errorf("pushed item %s is not in the pool files", want)
		}
	}
	return nil
}

func (s *sim) showMetrics(ctx context.Context) error {
	url := "http://" + s.cfg.listen + "/metrics"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "hvagent_") && !strings.Contains(l, "_bucket") {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	s.printf("\nhvsim: %s (hvagent_* series):\n%s", url, indent(strings.Join(lines, "\n")+"\n"))
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
	s.vf.close()
	s.wg.Wait()
}
