package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hvagent/hvagent/internal/gotool"
)

// countedFamilies are the agent's own counts of the work the simulators
// gave it, reported to show the load was handled, not only sent.
var countedFamilies = []string{"hvagent_kvp_requests_total", "hvagent_vss_operations_total", "hvagent_vf_transitions_total"}

// allSubsystems are the agent's subsystems; those without a simulator
// are disabled.
var allSubsystems = []string{"kvp", "vss", "vf"}

// measure runs the agent under load and returns the figures.
func measure(ctx context.Context, o options, log io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "hvload")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := o.agent
	if bin == "" {
		if bin, err = buildAgent(ctx, dir); err != nil {
			return nil, err
		}
	}
	sims, err := simulators(ctx, dir, o.protocol)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, s := range sims {
			s.close()
		}
	}()
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The protocols always named: the agent's defaults are the running
	// system's. (The VF simulator names its own, FreeBSD's.)
	args := []string{"run", "--web.listen-address", listen, "--log.level", "warn",
		"--kvp.protocol", o.protocol.String(), "--vss.protocol", o.protocol.String()}
	r := &report{protocol: o.protocol, duration: o.duration, perSubsystem: map[string]int{}}
	disabled := slices.Clone(allSubsystems)
	for _, s := range sims {
		args = append(args, s.agentArgs()...)
		r.subsystems = append(r.subsystems, s.subsystem())
		disabled = slices.DeleteFunc(disabled, func(n string) bool { return n == s.subsystem() })
	}
	if len(disabled) > 0 {
		args = append(args, "--disable", strings.Join(disabled, ","))
	}

	agent := exec.Command(bin, args...)
	agent.Stderr = log
	agent.Env = os.Environ()
	for _, s := range sims {
		agent.Env = append(agent.Env, s.agentEnv()...)
	}
	start := time.Now()
	if err := agent.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	defer func() {
		agent.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			agent.Process.Kill()
			<-exited
		}
	}()

	if r.ready, r.metricsUp, err = waitReady(ctx, sims, "http://"+listen+"/metrics", start, exited); err != nil {
		return nil, err
	}
	// Before any load: what the agent needs to be there.
	idle, err := scrapeValues("http://" + listen + "/metrics")
	if err != nil {
		return nil, err
	}
	r.rssAtStart = idle["process_resident_memory_bytes"]
	r.procAtStart = procStatus(agent.Process.Pid)
	return r, runLoad(ctx, o, sims, "http://"+listen+"/metrics", agent.Process.Pid, r, exited)
}

// waitReady returns how long after start the agent had connected to
// every device, and when its metrics were first served.
func waitReady(ctx context.Context, sims []simulator, url string, start time.Time, exited <-chan error) (ready, metricsUp time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(sims))
	readyAt := make([]time.Duration, len(sims))
	for i, s := range sims {
		wg.Go(func() {
			errs[i] = s.waitReady(ctx)
			readyAt[i] = time.Since(start)
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := scrape(url); err == nil {
				metricsUp = time.Since(start)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-exited:
		cancel()
		<-done
		return 0, 0, fmt.Errorf("the agent exited before it was ready: %v", err)
	}
	if err := errors.Join(errs...); err != nil {
		return 0, 0, fmt.Errorf("the agent did not connect to every simulated device: %w", err)
	}
	if metricsUp == 0 {
		return 0, 0, fmt.Errorf("the agent did not serve metrics at %s within 30 s", url)
	}
	return slices.Max(readyAt), metricsUp, nil
}

// runLoad keeps the host load on for the warm-up and the measurement and
// samples the agent's metrics.
//
// The measurement starts and ends with no request in flight: the senders
// hold gate (read) for each step, and the first and last scrapes hold it
// (write) together with the senders' counts. The agent counts a KVP
// request or VSS operation before it replies, so at those two instants
// the host's counts and the agent's counters agree exactly, and so do
// their differences.
func runLoad(ctx context.Context, o options, sims []simulator, url string, pid int, r *report, exited <-chan error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gate sync.RWMutex
	var mu sync.Mutex // guards sent, measuring and r.problems, r.failed
	sent := map[string]int{}
	measuring := false
	var wg sync.WaitGroup
	for _, s := range sims {
		wg.Go(func() {
			perSim := s.rate(o)
			begin, total := time.Now(), 0
			for n := 0; ctx.Err() == nil; n++ {
				gate.RLock()
				req, problems := s.step(ctx, n)
				mu.Lock()
				sent[s.subsystem()] += req
				if measuring {
					r.failed += len(problems)
					for _, p := range problems {
						if len(r.problems) < 10 {
							r.problems = append(r.problems, time.Now().Format("15:04:05.000")+" "+p)
						}
					}
				}
				mu.Unlock()
				gate.RUnlock()
				total += req
				// Pace: sleep until sent requests match the rate.
				if d := time.Duration(float64(total)/perSim*float64(time.Second)) - time.Since(begin); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
					}
				}
			}
		})
	}
	defer wg.Wait()
	defer cancel()

	// boundary scrapes the agent with nothing in flight and returns the
	// scrape and what the host had sent by then.
	boundary := func(start bool) (map[string]float64, map[string]int, error) {
		gate.Lock()
		defer gate.Unlock()
		vals, err := scrapeValues(url)
		mu.Lock()
		defer mu.Unlock()
		measuring = start
		return vals, maps.Clone(sent), err
	}

	if err := sleep(ctx, o.warmup, exited); err != nil {
		return err
	}
	first, sentFirst, err := boundary(true)
	if err != nil {
		return err
	}
	r.rss = append(r.rss, first["process_resident_memory_bytes"])
	r.heap = append(r.heap, first["go_memstats_heap_inuse_bytes"])
	end := time.Now().Add(o.duration)
	for time.Now().Before(end) {
		if err := sleep(ctx, min(o.sample, time.Until(end)), exited); err != nil {
			return err
		}
		v, err := scrapeValues(url)
		if err != nil {
			return err
		}
		r.rss = append(r.rss, v["process_resident_memory_bytes"])
		r.heap = append(r.heap, v["go_memstats_heap_inuse_bytes"])
	}
	last, sentLast, err := boundary(false)
	if err != nil {
		return err
	}
	r.proc = procStatus(pid)
	for _, s := range sims {
		n := sentLast[s.subsystem()] - sentFirst[s.subsystem()]
		r.perSubsystem[s.subsystem()] = n
		r.requests += n
	}
	r.counted = map[string]float64{}
	for _, fam := range countedFamilies {
		r.counted[fam] = last[fam+"{}"] - first[fam+"{}"]
	}
	r.cpu = time.Duration((last["process_cpu_seconds_total"] - first["process_cpu_seconds_total"]) * float64(time.Second))
	return nil
}

func sleep(ctx context.Context, d time.Duration, exited <-chan error) error {
	select {
	case <-time.After(d):
		return nil
	case err := <-exited:
		return fmt.Errorf("the agent exited during the run: %v", err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func scrape(url string) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// scrapeValues returns the values of the unlabelled series of a scrape,
// and under "family{}" the sum of each labelled family's series.
func scrapeValues(url string) (map[string]float64, error) {
	body, err := scrape(url)
	if err != nil {
		return nil, err
	}
	vals := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		// A labelled series counts towards "family{}", the sum of its
		// series.
		name, val := line, ""
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			name, val = line[:i], line[i+1:]
		}
		if fam, _, ok := strings.Cut(name, "{"); ok {
			name = fam + "{}"
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			vals[name] += v
		}
	}
	for _, want := range []string{"process_resident_memory_bytes", "process_cpu_seconds_total", "go_memstats_heap_inuse_bytes"} {
		if _, ok := vals[want]; !ok {
			return nil, fmt.Errorf("the scrape has no %s (process metrics are not collected on %s)", want, runtime.GOOS)
		}
	}
	return vals, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// buildAgent builds hvagent as a release would (no race detector).
func buildAgent(ctx context.Context, dir string) (string, error) {
	goBin, err := gotool.Path()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hvagent")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/hvagent/hvagent/cmd/hvagent")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building hvagent: %w", err)
	}
	return bin, nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

func maxOf(xs []float64) float64 { return slices.Max(xs) }

// procStatus returns the memory lines of /proc/pid/status (Linux), in
// bytes: VmRSS, the resident memory top(1) shows as RES; its split into
// RssAnon, the memory the agent allocated, and RssFile, mapped files
// (the binary's pages, shared and reclaimable); and VmHWM, the peak.
// Elsewhere it returns nil.
func procStatus(pid int) map[string]float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains([]string{"VmRSS", "VmHWM", "RssAnon", "RssFile"}, k) {
			continue
		}
		// "  20316 kB" (fs/proc/task_mmu.c, task_mem)
		f := strings.Fields(v)
		if n, err := strconv.ParseFloat(f[0], 64); err == nil && len(f) == 2 && f[1] == "kB" {
			out[k] = n * 1024
		}
	}
	return out
}
