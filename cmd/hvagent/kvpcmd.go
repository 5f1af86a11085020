package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
)

// hostRecordLimit is how many records of a pool the host is observed to
// read (SPEC §2.4); more are kept, but the host may not see them.
const hostRecordLimit = 1024

type kvpFlags struct {
	pool       string
	poolDir    string
	json       bool
	maxRecords int
}

// parseMaxRecords checks --kvp.max-records and 'kvp set --max-records'.
func parseMaxRecords(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number of records", s)
	}
	if n < 1 || n > kvp.MaxMaxRecords {
		return 0, fmt.Errorf("%d records: want 1 to %d", n, kvp.MaxMaxRecords)
	}
	return n, nil
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
	switch sub {
	case "list":
		fs.BoolVar(&f.json, "json", false, "print JSON instead of a table (values exact, not escaped)")
	case "get":
		fs.BoolVar(&f.json, "json", false, "print the record as JSON (the value exact, not escaped)")
	case "set":
		checkedVar(fs, &f.maxRecords, "max-records", strconv.Itoa(kvp.DefaultMaxRecords),
			"refuse a new key when the pool holds this many records (the agent's --kvp.max-records)", parseMaxRecords)
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
	c := &kvpCLI{dir: f.poolDir, stdout: stdout, stderr: stderr}
	switch sub {
	case "list":
		err = c.list(pools, f.json)
	case "get":
		err = c.get(pools[0], operands[0], f.json)
	case "set":
		err = c.set(pools[0], operands[0], operands[1], f.maxRecords)
	case "delete":
		err = c.delete(pools[0], operands[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "hvagent kvp %s: %v\n", sub, err)
		return exitError
	}
	return exitOK
}

// kvpCLI runs the kvp commands. list and get only read (kvp.ReadPool):
// they create nothing, change no mode and replay no journal on disk.
// set and delete open the one pool they change, as the agent does.
type kvpCLI struct {
	dir            string
	stdout, stderr io.Writer
}

type listedRecord struct {
	Pool     int    `json:"pool"`
	PoolName string `json:"pool_name"`
	Key      string `json:"key"`
	Value    string `json:"value"`
}

// records returns pool n's records, read without changing anything; the
// auto pool is computed the way the daemon computes it for the host. A
// journal found is reported on stderr.
func (c *kvpCLI) records(n int) ([]kvp.Record, error) {
	if n != kvp.PoolAuto {
		s, err := kvp.ReadPool(c.dir, n)
		switch {
		case err != nil:
			return nil, err
		case s.Pending:
			fmt.Fprintf(c.stderr, "hvagent: note: pool %s: %s holds an update a crash interrupted; it is shown done, "+
				"as the agent or the next 'hvagent kvp set' or 'delete' on this pool will complete it\n", kvp.PoolName(n), s.Journal)
		case s.Invalid != nil:
			fmt.Fprintf(c.stderr, "hvagent: warning: pool %s: %s is not a valid journal (%v) and is ignored; "+
				"the agent or the next 'hvagent kvp set' or 'delete' on this pool sets it aside unreplayed\n", kvp.PoolName(n), s.Journal, s.Invalid)
		}
		return s.Records, nil
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
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.PoolName, visible(r.Key), visible(r.Value))
	}
	return tw.Flush()
}

func (c *kvpCLI) get(n int, key string, asJSON bool) error {
	recs, err := c.records(n)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Key != key {
			continue
		}
		if asJSON {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(listedRecord{Pool: n, PoolName: kvp.PoolName(n), Key: r.Key, Value: r.Value})
		}
		fmt.Fprintln(c.stdout, visible(r.Value))
		return nil
	}
	return fmt.Errorf("%q: no such key in pool %s", key, kvp.PoolName(n))
}

// visible returns s for a terminal: what the host or another writer put in
// a pool must not reach it as control sequences. Printable characters
// (unicode.IsPrint: letters, marks, numbers, punctuation, symbols, the
// ASCII space) pass; a backslash is doubled, so the output is unambiguous;
// everything else is a Go-style escape: \a \b \f \n \r \t \v, \xNN for
// another ASCII control or a byte of invalid UTF-8, \uNNNN or \UNNNNNNNN
// for other characters (format characters such as bidirectional overrides
// included), as ls -b and strconv.Quote do.
func visible(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			b.WriteString(escapeRune(r))
		}
		i += size
	}
	return b.String()
}

// escapeRune spells a non-printable character as a Go escape.
func escapeRune(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	switch {
	case r < utf8.RuneSelf:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xffff:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return fmt.Sprintf(`\U%08x`, r)
}

// openPool opens pool n for a change; an invalid journal it sets aside is
// reported on stderr.
func (c *kvpCLI) openPool(n int) (*kvp.Pool, error) {
	p, err := kvp.OpenPool(c.dir, n)
	if err != nil {
		return nil, err
	}
	p.SetLogger(slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	return p, nil
}

func (c *kvpCLI) set(n int, key, value string, maxRecords int) error {
	if u := len(utf16.Encode([]rune(key))); u > kvp.HostKeyLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: the key is %d UTF-16 units; the host reads only the first %d\n", u, kvp.HostKeyLimit)
	}
	if u := len(utf16.Encode([]rune(value))); u > kvp.HostValueLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: the value is %d UTF-16 units; the host reads only the first %d\n", u, kvp.HostValueLimit)
	}
	p, err := c.openPool(n)
	if err != nil {
		return err
	}
	defer p.Close()
	err = p.SetMax(key, value, maxRecords)
	if errors.Is(err, kvp.ErrPoolFull) {
		return fmt.Errorf("%w; no record was changed: delete records first, or raise --max-records "+
			"(and the agent's --kvp.max-records, or the host's SETs of new keys fail too)", err)
	}
	if err != nil {
		return err
	}
	if l, err := p.Len(); err == nil && l > hostRecordLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: pool %s has %d records; the host reads about %d per pool\n",
			kvp.PoolName(n), l, hostRecordLimit)
	}
	return nil
}

func (c *kvpCLI) delete(n int, key string) error {
	p, err := c.openPool(n)
	if err != nil {
		return err
	}
	defer p.Close()
	found, err := p.Delete(key)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%q: no such key in pool %s", key, kvp.PoolName(n))
	}
	return nil
}
