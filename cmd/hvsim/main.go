package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

func main() {
	var o options
	flag.BoolVar(&o.once, "once", false, "run one host round, check it, stop (for scripts and tests)")
	flag.StringVar(&o.listen, "listen", "", "metrics address for the agent (default "+defaultListen+", or a free port if that one is taken)")
	flag.StringVar(&o.agent, "agent", "", "hvagent binary to run (default: build ./cmd/hvagent)")
	flag.StringVar(&o.dir, "dir", "", "work directory for sockets and pool files (default: a new temporary one)")
	flag.DurationVar(&o.every, "every", 15*time.Second, "how often the host enumerates the pools and runs a backup")
	flag.Func("protocol", "the kernel simulated, and the agent's --kvp.protocol and --vss.protocol: freebsd or linux (default freebsd, whatever system the demo runs on)",
		func(v string) (err error) { o.protocol, err = kvp.ParseProtocol(v); return err })
	flag.Parse()
	o.defaultListen = defaultListen

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "hvsim: %v\n", err)
		os.Exit(1)
	}
}

// defaultListen is the demo's metrics address unless -listen says
// otherwise: the agent's own default port (--web.listen-address).
const defaultListen = "127.0.0.1:9855"

type options struct {
	once          bool
	listen        string // -listen; "" for defaultListen or a free port
	defaultListen string // defaultListen, another address in tests
	agent         string
	dir           string
	every         time.Duration
	protocol      kvp.Protocol  // -protocol; the zero value is FreeBSD
	linuxVF       func() string // simConfig.linuxVF: nil in main, a stand-in in tests
}

func run(ctx context.Context, o options, out io.Writer) error {
	listen, err := chooseListen(o.listen, o.defaultListen, out)
	if err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "hvsim")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	bin := o.agent
	if bin == "" {
		fmt.Fprintln(out, "hvsim: building hvagent (a first build takes up to a minute) ...")
		b, err := buildAgent(ctx, dir)
		if err != nil {
			return err
		}
		bin = b
	}
	s, err := startSim(ctx, simConfig{dir: dir, agent: bin, listen: listen, every: o.every, protocol: o.protocol, out: out,
		linuxVF: o.linuxVF})
	if err != nil {
		return err
	}
	defer s.stop()
	if err := s.waitWeb(ctx); err != nil {
		return err
	}
	if err := s.firstRound(ctx); err != nil {
		return err
	}
	if err := s.vfRound(ctx); err != nil {
		return err
	}
	if err := s.showMetrics(ctx); err != nil {
		return err
	}
	if o.once {
		return s.shutdown()
	}
	if s.vf != nil {
		s.wg.Go(func() { s.vfLoop(ctx) })
		s.printf("hvsim: the agent keeps running, the host polls and backs up every %v and services the VF every %v; "+
			"press Ctrl-C to stop.\n", o.every, s.vf.every())
	} else {
		s.printf("hvsim: the agent keeps running, the host polls and backs up every %v; press Ctrl-C to stop.\n", o.every)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "\nhvsim: stopping")
	return s.shutdown()
}
