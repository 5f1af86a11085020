// Command hvbench measures a host request to the KVP subsystem end to
// end, through the socket transport, against the floor of that transport
// measured in the same run.
//
//	go run ./cmd/hvbench                       # 10, 1,024 and 4,096 records
//	go run ./cmd/hvbench -records 10 -rounds 20
//
// For each pool size it starts the real agent (built as for release) on a
// SOCK_SEQPACKET socket it listens on, with pool 1 holding that many
// records, and plays the host: it writes one 7430-byte request datagram,
// waits for the 7430-byte reply, and times the two together. The same
// loop also times a bare echo peer, a goroutine that sends each datagram
// straight back over a socket of the same type, from a process of its
// own as the agent's is: the floor, what the socket and the scheduler cost
// with no work done at all (see startEcho). Rounds of the floor, of GETs
// and of full enumerations alternate, so that a change in the machine's
// load touches all of them alike.
//
// It reports; it does not judge. The exit status is 1 only when the
// agent could not be started or a request failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

type options struct {
	agent   string
	records []int
	rounds  int
	gets    int // GETs per round
	steps   int // enumeration steps per round, at least one whole walk
}

func main() {
	if echoChild() {
		return
	}
	var o options
	sizes := flag.String("records", "10,1024,4096", "pool sizes to measure, comma-separated")
	flag.StringVar(&o.agent, "agent", "", "hvagent binary (default: build ./cmd/hvagent)")
	flag.IntVar(&o.rounds, "rounds", 40, "rounds of floor, GET and enumeration per pool size")
	flag.IntVar(&o.gets, "gets", 250, "GETs (and echoes) per round")
	flag.IntVar(&o.steps, "steps", 250, "enumeration steps per round; at least one whole walk of the pool")
	flag.Parse()
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
	results, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hvbench: %v\n", err)
		os.Exit(1)
	}
	printTable(os.Stdout, results)
}
