package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
	"unicode/utf16"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
)

// hostRecordLimit is how many records of a pool the host is observed to
// read (SPEC §2.4); more are kept, but the host may not see them.
const hostRecordLimit = 1024

type kvpFlags struct {
	pool    string
	poolDir string
	json    bool
}

// parseInterleaved parses flags wherever they stand among the operands, so
// "kvp get KEY --pool guest" works as well as "kvp get --pool guest KEY".
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return operands, nil
		}
		operands = append(operands, args[0])
		args = args[1:]
	}
}

func runKVP(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	sub := args[0]
	f := &kvpFlags{}
	fs := flag.NewFlagSet("hvagent kvp "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.pool, "pool", "", "pool number (0-4) or name (external, guest, auto, auto_external, auto_internal)")
	fs.StringVar(&f.poolDir, "pool-dir", "/var/db/hyperv/pool", "directory of the pool files")
	if sub == "list" {
		fs.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	}
	operands, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	want := map[string]int{"list": 0, "get": 1, "set": 2, "delete": 1}
	n, known := want[sub]
	switch {
	case !known:
		fmt.Fprintf(stderr, "hvagent kvp: unknown command %q\n\n%s", sub, usage)
		return exitUsage
	case len(operands) != n:
		fmt.Fprintf(stderr, "hvagent kvp %s: want %d argument(s), got %d\n\n%s", sub, n, len(operands), usage)
		return exitUsage
	case sub != "list" && f.pool == "":
		fmt.Fprintf(stderr, "hvagent kvp %s: --pool is required\n", sub)
		return exitUsage
	}
	pools := []int{0, 1, 2, 3, 4}
	if f.pool != "" {
		p, err := kvp.ParsePool(f.pool)
		if err != nil {
			fmt.Fprintf(stderr, "hvagent kvp %s: %v\n", sub, err)
			return exitUsage
		}
		pools = []int{p}
	}
	if (sub == "set" || sub == "delete") && pools[0] == kvp.PoolAuto {
		fmt.Fprintf(stderr, "hvagent kvp %s: the auto pool is computed by the agent and cannot be written\n", sub)
		return exitUsage
	}
	store, err := kvp.OpenStore(f.poolDir)
	if err != nil {
		fmt.Fprintf(stderr, "hvagent kvp %s: %v\n", sub, err)
		return exitError
	}
	defer store.Close()
	c := &kvpCLI{store: store, stdout: stdout, stderr: stderr}
	switch sub {
	case "list":
		err = c.list(pools, f.json)
	case "get":
		err = c.get(pools[0], operands[0])
	case "set":
		err = c.set(pools[0], operands[0], operands[1])
	case "delete":
		err = c.delete(pools[0], operands[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "hvagent kvp %s: %v\n", sub, err)
		return exitError
	}
	return exitOK
}

type kvpCLI struct {
	store          *kvp.Store
	stdout, stderr io.Writer
}

type listedRecord struct {
	Pool     int    `json:"pool"`
	PoolName string `json:"pool_name"`
	Key      string `json:"key"`
	Value    string `json:"value"`
}

// records returns pool n's records; the auto pool is computed the way the
// daemon computes it for the host.
func (c *kvpCLI) records(n int) ([]kvp.Record, error) {
	if n != kvp.PoolAuto {
		return c.store.Pool(n).Records()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return kvp.AutoRecords(kvp.GatherFacts(ctx, agent.Version, nil), cliAddrs), nil
}

func (c *kvpCLI) list(pools []int, asJSON bool) error {
	out := []listedRecord{}
	for _, n := range pools {
		recs, err := c.records(n)
		if err != nil {
			return err
		}
		if len(recs) > hostRecordLimit {
			fmt.Fprintf(c.stderr, "hvagent: warning: pool %s has %d records; the host reads about %d per pool\n",
				kvp.PoolName(n), len(recs), hostRecordLimit)
		}
		for _, r := range recs {
			out = append(out, listedRecord{Pool: n, PoolName: kvp.PoolName(n), Key: r.Key, Value: r.Value})
		}
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tKEY\tVALUE")
	for _, r := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.PoolName, r.Key, r.Value)
	}
	return tw.Flush()
}

func (c *kvpCLI) get(n int, key string) error {
	recs, err := c.records(n)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Key == key {
			fmt.Fprintln(c.stdout, r.Value)
			return nil
		}
	}
	return fmt.Errorf("%q: no such key in pool %s", key, kvp.PoolName(n))
}

func (c *kvpCLI) set(n int, key, value string) error {
	if u := len(utf16.Encode([]rune(key))); u > kvp.HostKeyLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: the key is %d UTF-16 units; the host reads only the first %d\n", u, kvp.HostKeyLimit)
	}
	if u := len(utf16.Encode([]rune(value))); u > kvp.HostValueLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: the value is %d UTF-16 units; the host reads only the first %d\n", u, kvp.HostValueLimit)
	}
	p := c.store.Pool(n)
	if err := p.Set(key, value); err != nil {
		return err
	}
	if l, err := p.Len(); err == nil && l > hostRecordLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: pool %s has %d records; the host reads about %d per pool\n",
			kvp.PoolName(n), l, hostRecordLimit)
	}
	return nil
}

func (c *kvpCLI) delete(n int, key string) error {
	found, err := c.store.Pool(n).Delete(key)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%q: no such key in pool %s", key, kvp.PoolName(n))
	}
	return nil
}
