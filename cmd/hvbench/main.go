package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/hvagent/hvagent/kvp"
)

type options struct {
	agent   string
	records []int
	rounds  int
	gets    int // thread echoes per round
	steps   int // enumeration steps per round, at least one whole walk
	ipinfo  int // GET_IP_INFO requests; 0: the KVP table instead
	// protocol is the wire format of the simulated kernel and the agent.
	protocol kvp.Protocol
}

func main() {
	if echoChild() {
		return
	}
	var o options
	sizes := flag.String("records", "10,1024,4096", "pool sizes to measure, comma-separated")
	flag.StringVar(&o.agent, "agent", "", "hvagent binary (default: build ./cmd/hvagent)")
	flag.IntVar(&o.rounds, "rounds", 40, "rounds per pool size: whole walks, each step and a GET after an echo")
	flag.IntVar(&o.gets, "gets", 250, "echoes by a peer thread per round (shown, not used as the floor)")
	flag.IntVar(&o.steps, "steps", 250, "enumeration steps (and GETs) per round, rounded up to whole walks of the pool")
	flag.IntVar(&o.ipinfo, "ipinfo", 0, "time this many GET_IP_INFO requests with the agent in a network namespace, instead of the KVP table (root, ip netns)")
	proto := flag.String("protocol", "freebsd", "the kernel's wire format to speak: freebsd or linux (hvagent --kvp.protocol)")
	flag.Parse()
	p, err := kvp.ParseProtocol(*proto)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hvbench: -protocol: %v\n", err)
		os.Exit(2)
	}
	o.protocol = p
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "hvbench: bad -records %q\n", f)
			os.Exit(2)
		}
		o.records = append(o.records, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.ipinfo > 0 {
		r, err := runIPInfo(ctx, o, os.Stderr)
		switch {
		case errors.Is(err, errNeedRoot):
			fmt.Fprintf(os.Stderr, "hvbench: skipped: %v\n", err)
			return
		case err != nil:
			fmt.Fprintf(os.Stderr, "hvbench: %v\n", err)
			os.Exit(1)
		}
		printIPInfo(os.Stdout, r)
		return
	}
	results, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hvbench: %v\n", err)
		os.Exit(1)
	}
	printTable(os.Stdout, o, results)
}
