package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
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
// read (hvagent(8), KVP POOLS, Limits); more are kept, but the host may not see them.
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

// kvpOperands is how many operands each kvp command takes, and what.
var kvpOperands = map[string][]string{
	"list":   nil,
	"get":    {"KEY"},
	"set":    {"KEY", "VALUE"},
	"delete": {"KEY"},
}

func runKVP(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "kvp", errors.New("missing command: list, get, set or delete"))
	}
	sub := args[0]
	if sub == "help" || sub == "-h" || sub == "-help" || sub == "--help" {
		for _, w := range []string{"list", "get", "set", "delete"} {
			fmt.Fprintln(stdout, usageLine("kvp "+w))
		}
		return exitOK
	}
	names, known := kvpOperands[sub]
	if !known {
		return usageError(stderr, "kvp", fmt.Errorf("unknown command %q", sub))
	}
	cmd := "kvp " + sub
	f, fs := kvpFlagSet(sub)
	operands, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "%s\n\n", usageLine(cmd))
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return exitOK
	}
	switch {
	case err != nil:
		return usageError(stderr, cmd, err)
	case len(operands) != len(names):
		return usageError(stderr, cmd, fmt.Errorf("want %d argument(s) %s, got %d",
			len(names), strings.Join(names, " "), len(operands)))
	case sub != "list" && f.pool == "":
		return usageError(stderr, cmd, errors.New("--pool is required"))
	}
	pools, err := kvpPools(sub, f.pool)
	if err != nil {
		return usageError(stderr, cmd, err)
	}
	if slices.ContainsFunc(pools, func(n int) bool { return n != kvp.PoolAuto }) {
		if err := checkPoolDirExists(f.poolDir); err != nil {
			return failure(stderr, cmd, err)
		}
	}
	c := &kvpCLI{dir: f.poolDir, proto: kvp.DefaultProtocol(), stdout: stdout, stderr: stderr}
	if err := c.run(sub, pools, operands, f); err != nil {
		return failure(stderr, cmd, err)
	}
	return exitOK
}

// kvpPools returns the pools 'kvp sub' works on: the one --pool names,
// or all five when it names none (list only).
func kvpPools(sub, pool string) ([]int, error) {
	if pool == "" {
		return []int{0, 1, 2, 3, 4}, nil
	}
	p, err := kvp.ParsePool(pool)
	if err != nil {
		return nil, err
	}
	if (sub == "set" || sub == "delete") && p == kvp.PoolAuto {
		return nil, errors.New("the auto pool is computed by the agent and cannot be written")
	}
	return []int{p}, nil
}

// run does what 'kvp sub' asks, with operands checked by runKVP.
func (c *kvpCLI) run(sub string, pools []int, operands []string, f *kvpFlags) error {
	switch sub {
	case "list":
		return c.list(pools, f.json)
	case "get":
		return c.get(pools[0], operands[0], f.json)
	case "set":
		return c.set(pools[0], operands[0], operands[1], f.maxRecords)
	case "delete":
		return c.delete(pools[0], operands[0])
	}
	return fmt.Errorf("unknown command %q", sub)
}

// kvpFlagSet returns the flags of 'hvagent kvp sub'. Errors are returned,
// not printed: runKVP prints them in one line.
func kvpFlagSet(sub string) (*kvpFlags, *flag.FlagSet) {
	f := &kvpFlags{}
	fs := flag.NewFlagSet("hvagent kvp "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.pool, "pool", "", "pool number (0-4) or name (external, guest, auto, auto_external, auto_internal)")
	fs.StringVar(&f.poolDir, "pool-dir", kvp.DefaultPoolDir(), "directory of the pool files (the agent's --kvp.pool-dir)")
	switch sub {
	case "list":
		fs.BoolVar(&f.json, "json", false, "print JSON instead of a table (strings exact, see hvagent(8))")
	case "get":
		fs.BoolVar(&f.json, "json", false, "print the record as JSON (strings exact, see hvagent(8))")
	case "set":
		checkedVar(fs, &f.maxRecords, "max-records", strconv.Itoa(kvp.DefaultMaxRecords),
			"refuse a new key when the pool holds this many records (the agent's --kvp.max-records)", parseMaxRecords)
	}
	return f, fs
}

// usageLine returns the line of the usage text for cmd ("kvp get").
func usageLine(cmd string) string {
	for line := range strings.Lines(usage) {
		line = strings.TrimSpace(strings.TrimPrefix(line, "usage:"))
		if strings.HasPrefix(line, "hvagent "+cmd+" ") || line == "hvagent "+cmd {
			return "usage: " + line
		}
	}
	return "usage: hvagent " + cmd
}

// checkPoolDirExists: every kvp command needs an existing pool directory.
// Only the agent creates one; list and get create nothing at all, and set
// creates a pool file only in a directory that is there.
func checkPoolDirExists(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("pool directory %s: no such directory (the agent creates it when it starts)", dir)
	case err != nil:
		return fmt.Errorf("pool directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("pool directory %s: not a directory", dir)
	}
	return nil
}

// kvpCLI runs the kvp commands. list and get only read (kvp.ReadPool):
// they create nothing, change no mode and replay no journal on disk.
// set and delete open the one pool they change, as the agent does.
type kvpCLI struct {
	dir string
	// proto is the protocol whose auto pool list and get compute: the
	// agent's default --kvp.protocol, the running system's, so they
	// show what the agent on this system reports to the host.
	proto kvp.Protocol
	// osRoot is where a Linux auto pool reads etc/os-release; "" is "/".
	osRoot         string
	stdout, stderr io.Writer
}

// listedRecord is a record as list and get print it.
type listedRecord struct {
	Pool       int
	Key, Value string
}

// jsonRecord is a record as --json prints it. A JSON string holds only
// Unicode, so a key or value that is not valid UTF-8 (another program
// wrote it) is null, with its exact bytes in key_base64 or value_base64:
// no member ever holds a string that is not the record's.
type jsonRecord struct {
	Pool        int     `json:"pool"`
	PoolName    string  `json:"pool_name"`
	Key         *string `json:"key"`
	KeyBase64   string  `json:"key_base64,omitempty"`
	Value       *string `json:"value"`
	ValueBase64 string  `json:"value_base64,omitempty"`
}

func (r listedRecord) json() jsonRecord {
	j := jsonRecord{Pool: r.Pool, PoolName: kvp.PoolName(r.Pool)}
	j.Key, j.KeyBase64 = jsonString(r.Key)
	j.Value, j.ValueBase64 = jsonString(r.Value)
	return j
}

// jsonString returns s for a JSON string member, or nil and its bytes in
// base64 if it is not valid UTF-8.
func jsonString(s string) (*string, string) {
	if utf8.ValidString(s) {
		return &s, ""
	}
	return nil, base64.StdEncoding.EncodeToString([]byte(s))
}

func (c *kvpCLI) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// records returns pool n's records, read without changing anything; the
// auto pool is computed the way the daemon computes it for the host. A
// journal found and a partial record at the end are reported on stderr.
func (c *kvpCLI) records(n int) ([]kvp.Record, error) {
	if n == kvp.PoolAuto {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return kvp.AutoRecords(c.autoFacts(ctx), cliAddrs), nil
	}
	s, err := kvp.ReadPool(c.dir, n)
	if err != nil {
		return nil, err
	}
	name := kvp.PoolName(n)
	switch {
	case s.Pending:
		fmt.Fprintf(c.stderr, "hvagent: note: pool %s: %s holds an update a crash interrupted; it is shown done, "+
			"as the agent or the next 'hvagent kvp set' or 'delete' on this pool will complete it\n", name, s.Journal)
	case s.Invalid != nil:
		fmt.Fprintf(c.stderr, "hvagent: warning: pool %s: %s is not a valid journal (%v) and is ignored; "+
			"the agent or the next 'hvagent kvp set' or 'delete' on this pool sets it aside unreplayed\n", name, s.Journal, s.Invalid)
	}
	if s.End < s.Size {
		fmt.Fprintf(c.stderr, "hvagent: warning: pool %s: %s is %d bytes, not a whole number of %d-byte records: "+
			"the records end at offset %d and the %d bytes after them are not shown; "+
			"the next write that drops them (a new key or a delete, by the agent or 'hvagent kvp') "+
			"keeps a copy in %s.tail.<time>\n",
			name, s.Path, s.Size, kvp.MaxKeySize+kvp.MaxValueSize, s.End, s.Size-s.End, s.Path)
	}
	return s.Records, nil
}

// autoFacts gathers the auto pool's facts as the agent does with
// --kvp.protocol c.proto (kvp.Subsystem's gatherFacts): on Linux, the
// values the Linux daemon reports.
func (c *kvpCLI) autoFacts(ctx context.Context) kvp.Facts {
	if c.proto == kvp.Linux {
		return kvp.GatherLinuxFacts(ctx, c.osRoot, nil)
	}
	return kvp.GatherFacts(ctx, agent.Version, nil)
}

func (c *kvpCLI) list(pools []int, asJSON bool) error {
	var out []listedRecord
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
			out = append(out, listedRecord{Pool: n, Key: r.Key, Value: r.Value})
		}
	}
	if asJSON {
		js := []jsonRecord{}
		for _, r := range out {
			js = append(js, r.json())
		}
		return c.printJSON(js)
	}
	// Every cell passes through visible, so no byte 0xff (tabwriter's
	// escape character) nor a tab or newline reaches the tabwriter.
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tKEY\tVALUE")
	for _, r := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", kvp.PoolName(r.Pool), visible(r.Key), visible(r.Value))
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
			return c.printJSON(listedRecord{Pool: n, Key: r.Key, Value: r.Value}.json())
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

// openPool opens pool n for a change; an invalid journal it sets aside or
// a torn tail it keeps a copy of is reported on stderr.
func (c *kvpCLI) openPool(n int) (*kvp.Pool, error) {
	p, err := kvp.OpenPool(c.dir, n)
	if err != nil {
		return nil, err
	}
	p.SetLogger(slog.New(&warnHandler{w: c.stderr}))
	return p, nil
}

// checkSetOperands refuses what set cannot store as the daemon would
// store it: a key or value that is not valid UTF-8 (the agent refuses
// such strings from the host, kvp/msg.go cbytes) or too long for its
// field of a pool record, or an empty key. A string that fits the record
// but not what the host reads only draws a warning (setWarnings).
func checkSetOperands(key, value string) error {
	for _, o := range []struct {
		name, s string
		field   int
	}{{"key", key, kvp.MaxKeySize}, {"value", value, kvp.MaxValueSize}} {
		switch {
		case !utf8.ValidString(o.s):
			i := invalidUTF8At(o.s)
			return fmt.Errorf("the %s is not valid UTF-8 (byte 0x%02x at offset %d); "+
				"the agent refuses such strings from the host too", o.name, o.s[i], i)
		case len(o.s) >= o.field:
			return fmt.Errorf("the %s is %d bytes; a pool record holds at most %d", o.name, len(o.s), o.field-1)
		}
	}
	if key == "" {
		return errors.New("the key is empty")
	}
	return nil
}

// invalidUTF8At returns the offset of the first byte of s that does not
// start a valid UTF-8 sequence.
func invalidUTF8At(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return 0
}

// setWarnings warns about a key or value the host reads only in part.
func (c *kvpCLI) setWarnings(key, value string) {
	if u := len(utf16.Encode([]rune(key))); u > kvp.HostKeyLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: the key is %d UTF-16 units; the host reads only the first %d\n", u, kvp.HostKeyLimit)
	}
	if u := len(utf16.Encode([]rune(value))); u > kvp.HostValueLimit {
		fmt.Fprintf(c.stderr, "hvagent: warning: the value is %d UTF-16 units; the host reads only the first %d\n", u, kvp.HostValueLimit)
	}
}

func (c *kvpCLI) set(n int, key, value string, maxRecords int) error {
	if err := checkSetOperands(key, value); err != nil {
		return err
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
	c.setWarnings(key, value)
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

// warnHandler prints what a pool logs (an invalid journal set aside, a
// torn tail kept) in the style of the CLI's other warnings:
// "hvagent: warning: <message> key=value ...".
type warnHandler struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h *warnHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *warnHandler) Handle(_ context.Context, r slog.Record) error {
	kind := "note"
	if r.Level >= slog.LevelWarn {
		kind = "warning"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hvagent: %s: %s;", kind, r.Message)
	add := func(a slog.Attr) bool {
		v := a.Value.String()
		if v == "" || strings.ContainsAny(v, " \"=") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, visible(v))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *warnHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &warnHandler{w: h.w, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *warnHandler) WithGroup(string) slog.Handler { return h }
