package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

type options struct {
	agent    string
	duration time.Duration
	warmup   time.Duration
	sample   time.Duration
	rate     float64
	vfRate   float64
	vssRate  float64
	protocol kvp.Protocol // -protocol; the zero value is FreeBSD
}

func main() {
	var o options
	flag.StringVar(&o.agent, "agent", "", "hvagent binary (default: build ./cmd/hvagent)")
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long to measure after the warm-up")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "load before measuring starts")
	flag.DurationVar(&o.sample, "sample", 5*time.Second, "how often to sample memory")
	flag.Float64Var(&o.rate, "rate", 200, "host KVP requests per second")
	flag.Float64Var(&o.vssRate, "vss-rate", 1.5, "VSS operations per second (a backup cycle is 3: CHECK or Linux's HOT_BACKUP, FREEZE, THAW)")
	flag.Float64Var(&o.vfRate, "vf-rate", 2, "devd lines per second about the VF (a removal and return is 4 lines)")
	flag.Func("protocol", "the simulated kernels' protocol, and the agent's --kvp.protocol and --vss.protocol: freebsd or linux "+
		"(default freebsd, whatever system hvload runs on; linux has no VF simulator)",
		func(v string) (err error) { o.protocol, err = kvp.ParseProtocol(v); return err })
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := measure(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hvload: %v\n", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
}

// report holds the figures of one run.
type report struct {
	protocol         kvp.Protocol
	subsystems       []string
	duration         time.Duration
	ready, metricsUp time.Duration
	requests, failed int
	perSubsystem     map[string]int
	counted          map[string]float64 // growth of countedFamilies during the measurement
	problems         []string           // the first failed requests, with their time
	cpu              time.Duration      // agent CPU time (user+system) during the measurement
	rssAtStart       float64            // resident memory once ready, before the load, bytes
	procAtStart      map[string]float64 // /proc/pid/status memory lines then, on Linux (procStatus)
	rss, heap        []float64          // samples of resident memory and Go heap in use, bytes
	proc             map[string]float64 // /proc/pid/status memory lines at the end, on Linux
}

func (r *report) print(w io.Writer) {
	const mib = 1 << 20
	fmt.Fprintf(w, "hvload: %s protocol, subsystems %v, %v of steady load after the warm-up\n", r.protocol, r.subsystems, r.duration.Round(time.Second))
	fmt.Fprintf(w, "start to ready (registered with every device): %.1f ms (target < 100 ms)\n", ms(r.ready))
	fmt.Fprintf(w, "start to first metrics scrape:                 %.1f ms\n", ms(r.metricsUp))
	fmt.Fprintf(w, "host requests and devd lines: %d (%.0f/s: %s), failed: %d\n", r.requests,
		float64(r.requests)/r.duration.Seconds(), r.split(), r.failed)
	for _, c := range r.comparisons() {
		fmt.Fprintf(w, "  %s\n", c)
	}
	for _, p := range r.problems {
		fmt.Fprintf(w, "  failed: %s\n", p)
	}
	if r.requests > 0 {
		fmt.Fprintf(w, "agent CPU per request or line: %.1f µs (%.2f s user+system in all)\n",
			float64(r.cpu.Microseconds())/float64(r.requests), r.cpu.Seconds())
	}
	if p := r.procAtStart; p != nil {
		fmt.Fprintf(w, "resident memory once ready, before the load: %s\n", memSplit(p))
	} else {
		fmt.Fprintf(w, "resident memory once ready, before the load: %.1f MiB\n", r.rssAtStart/mib)
	}
	if n := len(r.rss); n > 0 {
		fmt.Fprintf(w, "resident memory, steady state: %.1f MiB median, %.1f MiB max (target < 15 MiB)\n",
			median(r.rss)/mib, maxOf(r.rss)/mib)
		fmt.Fprintf(w, "growth over the run: %+.2f MiB resident, %+.2f MiB Go heap in use (median of the last half of %d samples minus the first half)\n",
			growth(r.rss)/mib, growth(r.heap)/mib, n)
	}
	if r.proc != nil {
		fmt.Fprintf(w, "resident memory at the end: %s; peak %.1f MiB (VmHWM)\n", memSplit(r.proc), r.proc["VmHWM"]/mib)
	}
}

// memSplit says a procStatus: what top shows, and its parts.
func memSplit(p map[string]float64) string {
	const mib = 1 << 20
	return fmt.Sprintf("%.1f MiB as top shows it (VmRSS): %.1f MiB anonymous (RssAnon), %.1f MiB mapped files, the binary's pages (RssFile)",
		p["VmRSS"]/mib, p["RssAnon"]/mib, p["RssFile"]/mib)
}

// comparisons set what the host sent beside what the agent counted.
// KVP requests and VSS operations are one each; a VF transition takes
// two devd lines or more.
func (r *report) comparisons() []string {
	if r.counted == nil {
		return nil
	}
	var out []string
	for _, s := range r.subsystems {
		switch s {
		case "kvp":
			out = append(out, fmt.Sprintf("kvp: the host sent %d requests, the agent counted %.0f (hvagent_kvp_requests_total)",
				r.perSubsystem[s], r.counted["hvagent_kvp_requests_total"]))
		case "vss":
			out = append(out, fmt.Sprintf("vss: the host sent %d operations, the agent counted %.0f (hvagent_vss_operations_total)",
				r.perSubsystem[s], r.counted["hvagent_vss_operations_total"]))
		case "vf":
			out = append(out, fmt.Sprintf("vf: devd sent %d lines, the agent counted %.0f VF transitions (hvagent_vf_transitions_total)",
				r.perSubsystem[s], r.counted["hvagent_vf_transitions_total"]))
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// growth compares the second half of the samples with the first, by
// their medians, so that the garbage collector's sawtooth does not count.
func growth(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	h := len(xs) / 2
	return median(xs[len(xs)-h:]) - median(xs[:h])
}

// split lists the requests per subsystem: "kvp 60000, vf 600".
func (r *report) split() string {
	var parts []string
	for _, s := range r.subsystems {
		parts = append(parts, fmt.Sprintf("%s %d", s, r.perSubsystem[s]))
	}
	return strings.Join(parts, ", ")
}
