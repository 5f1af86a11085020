package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

func TestVisible(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain value, ünïcödé", "plain value, ünïcödé"},
		{"esc\x1b[2J", `esc\x1b[2J`},
		{"bel\a", `bel\a`},
		{"cr\roverwrite", `cr\roverwrite`},
		{"nul\x00\x00", `nul\x00\x00`},
		{"tab\tnl\n", `tab\tnl\n`},
		{"del\x7f", `del\x7f`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{`back\slash`, `back\\slash`},
		{"replacement char \ufffd is printable", "replacement char \ufffd is printable"},
	} {
		if got := visible(tc.in); got != tc.want {
			t.Errorf("visible(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// rawPoolRecord is one 2560-byte pool record with key and value copied
// in as they are (struct kvp_record of contrib/hyperv/tools/hv_kvp_daemon.c).
func rawPoolRecord(key, value string) []byte {
	b := make([]byte, 2560)
	copy(b, key)
	copy(b[512:], value)
	return b
}

// TestKVPOutputEscaped: what the host or another writer puts in a pool
// reaches the administrator's terminal as visible escapes, never as
// control sequences; --json keeps the exact strings.
func TestKVPOutputEscaped(t *testing.T) {
	dir := t.TempDir()
	values := map[string]string{
		"esc":  "title\x1b]0;owned\x07 \x1b[2J",
		"bel":  "ring\a",
		"cr":   "shown\rhidden",
		"utf8": "bad \xff\xfe bytes",
	}
	var recs [][]byte
	for _, k := range []string{"esc", "bel", "cr", "utf8"} {
		recs = append(recs, rawPoolRecord(k, values[k]))
	}
	// NUL-padded: the value ends at the first NUL, the rest is padding.
	padded := rawPoolRecord("nulpad", "short")
	copy(padded[512+10:], "\x1b[31mafter the NUL")
	recs = append(recs, padded)
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_0"), bytes.Join(recs, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	safe := func(t *testing.T, out string) {
		t.Helper()
		if !utf8.ValidString(out) {
			t.Errorf("output is not valid UTF-8: %q", out)
		}
		for _, r := range out {
			if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("control character %U reached the terminal: %q", r, out)
			}
		}
	}
	out, errOut, code := hvagent(t, "kvp", "list", "--pool", "external", "--pool-dir", dir)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	safe(t, out)
	for _, want := range []string{`title\x1b]0;owned\a \x1b[2J`, `ring\a`, `shown\rhidden`, `bad \xff\xfe bytes`, "nulpad  short\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = hvagent(t, "kvp", "get", "--pool", "external", "--pool-dir", dir, "esc")
	if code != 0 || out != `title\x1b]0;owned\a \x1b[2J`+"\n" {
		t.Errorf("get: exit %d, %q", code, out)
	}
	safe(t, out)

	out, _, code = hvagent(t, "kvp", "list", "--json", "--pool", "external", "--pool-dir", dir)
	if code != 0 {
		t.Fatalf("list --json: exit %d", code)
	}
	seen := 0
	for _, r := range decodeJSONRecords(t, out) {
		key := exactString(t, r.Key, r.KeyBase64)
		if want, ok := values[key]; ok {
			seen++
			if got := exactString(t, r.Value, r.ValueBase64); got != want {
				t.Errorf("--json %s = %q, want %q", key, got, want)
			}
		}
	}
	if seen != len(values) {
		t.Errorf("--json shows %d of the %d records", seen, len(values))
	}
	if !strings.Contains(out, `"value": null`) || strings.Contains(out, "\ufffd") || strings.Contains(out, "\uFFFD") {
		t.Errorf("--json spells invalid UTF-8 other than as null plus base64:\n%s", out)
	}
	out, _, code = hvagent(t, "kvp", "get", "--json", "--pool", "external", "--pool-dir", dir, "cr")
	var got jsonRecord
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || exactString(t, got.Value, got.ValueBase64) != values["cr"] {
		t.Errorf("get --json: exit %d, %v, %+v", code, err, got)
	}
}

// poolJournal builds a pool journal from its documented layout (kvp's
// pool_journal.go): a replace of slot with rec, old the slot's bytes.
func poolJournal(pool, kind uint32, slot, oldSize uint64, rec, old []byte) []byte {
	b := make([]byte, 40+2*2560+4)
	le := binary.LittleEndian
	copy(b, "HVKVPJNL")
	le.PutUint32(b[8:], 2)
	le.PutUint32(b[12:], pool)
	le.PutUint32(b[16:], kind)
	le.PutUint64(b[24:], slot)
	le.PutUint64(b[32:], oldSize)
	copy(b[40:], rec)
	copy(b[40+2560:], old)
	le.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

// dirSnapshot records every entry of dir (and dir itself): mode, size,
// mtime and content.
func dirSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	add := func(p string) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if fi.IsDir() {
			b = nil
		}
		snap[p] = fi.Mode().String() + " " + fi.ModTime().Format(time.RFC3339Nano) + " " + string(b)
	}
	add(dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		add(filepath.Join(dir, e.Name()))
	}
	return snap
}

// TestKVPReadCommandsWriteNothing: list and get on a directory left by
// an older daemon (loose modes) with a crash-interrupted update leave
// every mode, mtime and byte as it was, and show the update done.
func TestKVPReadCommandsWriteNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	a, b := rawPoolRecord("Role", "web"), rawPoolRecord("Tier", "gold")
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_1"), append(a, b...), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, ".kvp_pool_1"), 0o644)
	j := poolJournal(1, 1, 1, 2*2560, rawPoolRecord("Tier", "platinum"), b) // replace, not applied
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_1.journal"), j, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_300_000_000, 0)
	for _, p := range []string{".kvp_pool_1", ".kvp_pool_1.journal", ""} {
		os.Chtimes(filepath.Join(dir, p), old, old)
	}
	before := dirSnapshot(t, dir)

	out, errOut, code := hvagent(t, "kvp", "list", "--pool", "guest", "--pool-dir", dir)
	if code != 0 || !strings.Contains(out, "Tier  platinum") || !strings.Contains(errOut, "crash interrupted") {
		t.Errorf("list: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, _, code = hvagent(t, "kvp", "get", "--pool", "guest", "--pool-dir", dir, "Tier")
	if code != 0 || out != "platinum\n" {
		t.Errorf("get: exit %d, %q", code, out)
	}
	after := dirSnapshot(t, dir)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed:\n\t%.60q\n\t%.60q", p, v, after[p])
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d entries before, %d after: %v", len(before), len(after), after)
	}
	// A writer completes the update, as list said.
	if _, errOut, code := hvagent(t, "kvp", "set", "--pool", "guest", "--pool-dir", dir, "New", "1"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, errOut)
	}
	out, _, _ = hvagent(t, "kvp", "get", "--pool", "guest", "--pool-dir", dir, "Tier")
	if out != "platinum\n" {
		t.Errorf("after set, Tier = %q", out)
	}
}

func TestKVPDirectoryTrustAndCap(t *testing.T) {
	open := filepath.Join(t.TempDir(), "pool")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o770)
	for _, args := range [][]string{
		{"kvp", "list", "--pool-dir", open},
		{"kvp", "set", "--pool", "guest", "--pool-dir", open, "k", "v"},
	} {
		_, errOut, code := hvagent(t, args...)
		if code != 1 || !strings.Contains(errOut, "chmod go-w "+open) {
			t.Errorf("%s in a group-writable directory: exit %d, %q", args[1], code, errOut)
		}
	}
	if ents, _ := os.ReadDir(open); len(ents) != 0 {
		t.Errorf("%d files created in the untrusted directory", len(ents))
	}

	dir := t.TempDir()
	set := func(k, v string) (string, int) {
		_, errOut, code := hvagent(t, "kvp", "set", "--max-records", "2", "--pool", "guest", "--pool-dir", dir, k, v)
		return errOut, code
	}
	for _, k := range []string{"a", "b"} {
		if errOut, code := set(k, "1"); code != 0 {
			t.Fatalf("set %s: exit %d: %s", k, code, errOut)
		}
	}
	if errOut, code := set("c", "1"); code != 1 || !strings.Contains(errOut, "pool full") {
		t.Errorf("set beyond --max-records: exit %d, %q", code, errOut)
	}
	if errOut, code := set("a", "2"); code != 0 {
		t.Errorf("replace in a full pool: exit %d, %q", code, errOut)
	}
	out, _, _ := hvagent(t, "kvp", "list", "--json", "--pool", "guest", "--pool-dir", dir)
	if recs := decodeJSONRecords(t, out); len(recs) != 2 || recs[0].Value == nil || *recs[0].Value != "2" {
		t.Errorf("records after the refused set: %+v", recs)
	}
	for _, bad := range []string{"0", "-1", "many", "1000001"} {
		_, errOut, code := hvagent(t, "run", "--kvp.max-records="+bad, "--help")
		if code != exitUsage || !strings.Contains(errOut, "kvp.max-records") {
			t.Errorf("--kvp.max-records=%s: exit %d, %q", bad, code, errOut)
		}
	}
}

// TestKVPSetRefusesWhatTheAgentRefuses: set stores no key or value that
// is not valid UTF-8 (the rule the agent applies to the host's strings)
// and none that does not fit its field; each is one line of error, exit
// 1, and the pool file is not even created.
func TestKVPSetRefusesWhatTheAgentRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"key with 0xff", "k\xff", "v", "the key is not valid UTF-8 (byte 0xff at offset 1)"},
		{"value with a lone continuation byte", "k", "ok \x80", "the value is not valid UTF-8 (byte 0x80 at offset 3)"},
		{"value with an encoded surrogate", "k", "\xed\xa0\x80", "the value is not valid UTF-8 (byte 0xed at offset 0)"},
		{"key too long", strings.Repeat("k", 600), "v", "the key is 600 bytes; a pool record holds at most 511"},
		{"value too long", "k", strings.Repeat("é", 1100), "the value is 2200 bytes; a pool record holds at most 2047"},
		{"empty key", "", "v", "the key is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := hvagent(t, "kvp", "set", "--pool", "guest", "--pool-dir", dir, tc.key, tc.value)
			want := "hvagent: kvp set: " + tc.want
			if code != exitError || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line starting %q", code, errOut, want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused sets left %d files behind", len(ents))
	}
	// Text that is valid but longer than the host reads is stored, with
	// a warning.
	_, errOut, code := hvagent(t, "kvp", "set", "--pool", "guest", "--pool-dir", dir, "k", strings.Repeat("a", 1500))
	if code != 0 || !strings.HasPrefix(errOut, "hvagent: warning: the value is 1500 UTF-16 units") {
		t.Errorf("long value: exit %d, %q", code, errOut)
	}
}

// TestKVPMissingDirectory: no kvp command creates a pool directory, and
// list and get create nothing at all; each says there is no such
// directory. The auto pool, computed, needs none.
func TestKVPMissingDirectory(t *testing.T) {
	top := t.TempDir()
	missing := filepath.Join(top, "nonexistent", "a", "b")
	for _, args := range [][]string{
		{"list"},
		{"list", "--pool", "guest"},
		{"get", "--pool", "guest", "Key"},
		{"set", "--pool", "guest", "Key", "v"},
		{"delete", "--pool", "guest", "Key"},
	} {
		_, errOut, code := hvagent(t, append(append([]string{"kvp"}, args...), "--pool-dir", missing)...)
		want := "hvagent: kvp " + args[0] + ": pool directory " + missing + ": no such directory"
		if code != exitError || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and %q", args, code, errOut, want)
		}
	}
	if ents, _ := os.ReadDir(top); len(ents) != 0 {
		t.Errorf("the commands created %d entries: %v", len(ents), ents)
	}
	out, errOut, code := hvagent(t, "kvp", "get", "--pool", "auto", "--pool-dir", missing, "OSName")
	if code != 0 || out == "" {
		t.Errorf("get from the auto pool: exit %d, %q, %q", code, out, errOut)
	}
}

// TestKVPTornPool: a pool file that is not a whole number of records
// (10,000 random bytes: three records and 2,320 bytes) is listed with a
// warning naming the file, its size and where the whole records end; the
// next set of a new key keeps the 2,320 bytes beside the pool and says
// where.
func TestKVPTornPool(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".kvp_pool_1")
	b := make([]byte, 10000)
	for i := range b {
		b[i] = byte(i*7 + i/13) // arbitrary bytes; a field ends at its first NUL
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := hvagent(t, "kvp", "list", "--pool", "guest", "--pool-dir", dir)
	if code != 0 || strings.Count(out, "\n") != 4 {
		t.Fatalf("list: exit %d, %d lines\n%s\n%s", code, strings.Count(out, "\n"), out, errOut)
	}
	for _, want := range []string{"hvagent: warning: pool guest: " + path + " is 10000 bytes", "records end at offset 7680", "the 2320 bytes after them"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("list's warning lacks %q: %q", want, errOut)
		}
	}
	if _, errOut, _ := hvagent(t, "kvp", "get", "--pool", "guest", "--pool-dir", dir, "nothing"); !strings.Contains(errOut, "records end at offset 7680") {
		t.Errorf("get does not warn: %q", errOut)
	}
	_, errOut, code = hvagent(t, "kvp", "set", "--pool", "guest", "--pool-dir", dir, "New", "1")
	if code != 0 {
		t.Fatalf("set: exit %d: %s", code, errOut)
	}
	copies, _ := filepath.Glob(path + ".tail.*")
	if len(copies) != 1 {
		t.Fatalf("%d copies of the tail, want 1; stderr %q", len(copies), errOut)
	}
	if got, err := os.ReadFile(copies[0]); err != nil || !bytes.Equal(got, b[7680:]) {
		t.Errorf("%s: %d bytes, %v; want the 2320 bytes of the tail", copies[0], len(got), err)
	}
	if !strings.Contains(errOut, "copy="+copies[0]) {
		t.Errorf("set does not say where the tail went: %q", errOut)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 4*2560 {
		t.Errorf("pool file after set: %v, %v; want 4 records", fi.Size(), err)
	}
}

// TestKVPListAligned: a key holding 0xff, text/tabwriter's escape
// character, or a tab does not shift the columns of the rows after it.
func TestKVPListAligned(t *testing.T) {
	dir := t.TempDir()
	recs := bytes.Join([][]byte{
		rawPoolRecord("a\xffb", "one"),
		rawPoolRecord("tab\there", "two"),
		rawPoolRecord("a-much-longer-key", "three"),
		rawPoolRecord("c", "four\xff"),
		rawPoolRecord("d", "five"),
	}, nil)
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_0"), recs, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := hvagent(t, "kvp", "list", "--pool", "external", "--pool-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	col := strings.Index(lines[0], "VALUE")
	if len(lines) != 6 || col < 0 {
		t.Fatalf("unexpected table:\n%s", out)
	}
	for _, l := range lines[1:] {
		// Every cell is escaped to ASCII, so bytes are columns.
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned at column %d: %q\n%s", col, l, out)
		}
	}
}

// TestKVPPoolDirDefault: the kvp commands' --pool-dir defaults to the
// directory the agent's --kvp.pool-dir does on this system, so they read
// and change the pools the agent serves: /var/lib/hyperv on Linux, where
// the Linux daemon keeps them (tools/hv/hv_kvp_daemon.c, KVP_CONFIG_LOC),
// /var/db/hyperv/pool elsewhere.
func TestKVPPoolDirDefault(t *testing.T) {
	want := "/var/db/hyperv/pool"
	if runtime.GOOS == "linux" {
		want = "/var/lib/hyperv"
	}
	df, err := parseDaemonFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if df.kvpPoolDir != want {
		t.Errorf("hvagent run --kvp.pool-dir defaults to %q, want %q", df.kvpPoolDir, want)
	}
	for sub := range kvpOperands {
		_, fs := kvpFlagSet(sub)
		if got := fs.Lookup("pool-dir").DefValue; got != want {
			t.Errorf("hvagent kvp %s --pool-dir defaults to %q, want %q", sub, got, want)
		}
	}
}

// autoPool returns the auto pool as c lists it, by key.
func autoPool(t *testing.T, c *kvpCLI) map[string]string {
	t.Helper()
	recs, err := c.records(kvp.PoolAuto)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range recs {
		m[r.Key] = r.Value
	}
	if len(m) != 10 {
		t.Fatalf("the auto pool has %d keys, want 10: %v", len(m), m)
	}
	return m
}

// TestKVPAutoPoolProtocol: list and get compute the auto pool as the
// agent does in their protocol. Linux's: os-release's NAME and VERSION_ID
// (here from a root the test makes), the whole kernel release as
// OSBuildNumber and its part before the first '-' as OSVersion, no minor
// version, and the kernel's "3.1" (tools/hv/hv_kvp_daemon.c,
// kvp_get_os_info); FreeBSD's: uname's sysname and the agent's version.
func TestKVPAutoPoolProtocol(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	osRelease := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
	if err := os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte(osRelease), 0o644); err != nil {
		t.Fatal(err)
	}
	sysname, release, machine, err := kvp.Uname()
	if err != nil {
		t.Fatal(err)
	}
	cut, _, _ := strings.Cut(release, "-")

	linux := autoPool(t, &kvpCLI{proto: kvp.Linux, osRoot: root, stderr: io.Discard})
	for key, want := range map[string]string{
		"OSName":                     "Debian GNU/Linux",
		"OSMajorVersion":             "12",
		"OSMinorVersion":             "",
		"OSVersion":                  cut,
		"OSBuildNumber":              release,
		"IntegrationServicesVersion": kvp.LinuxDriverVersion,
		"ProcessorArchitecture":      machine,
	} {
		if linux[key] != want {
			t.Errorf("Linux protocol: %s = %q, want %q", key, linux[key], want)
		}
	}

	freebsd := autoPool(t, &kvpCLI{proto: kvp.FreeBSD, osRoot: root, stderr: io.Discard})
	for key, want := range map[string]string{
		"OSName":                     sysname,
		"OSVersion":                  release,
		"OSBuildNumber":              cut,
		"IntegrationServicesVersion": agent.Version,
		"ProcessorArchitecture":      machine,
	} {
		if freebsd[key] != want {
			t.Errorf("FreeBSD protocol: %s = %q, want %q", key, freebsd[key], want)
		}
	}
}

// TestKVPAutoPoolAsTheAgentReportsIt: 'kvp list --pool auto' shows what
// the agent, with its default --kvp.protocol, answers the host's
// ENUMERATE of the auto pool with, on this system. The addresses and the
// FQDN, read from the live system and DNS by each process on its own,
// are left out.
func TestKVPAutoPoolAsTheAgentReportsIt(t *testing.T) {
	e := newEnv(t, kvptest.KernelOptions{Protocol: kvp.DefaultProtocol()})
	e.start()
	items, st, err := e.host.Enumerate(ctxT(t), kvp.PoolAuto)
	if err != nil || st != kvp.StatusCont || len(items) != 10 {
		t.Fatalf("enumerate the auto pool: %d items, %v, %v\nagent log:\n%s", len(items), st, err, e.stderr)
	}
	e.stop()

	out, errOut, code := hvagent(t, "kvp", "list", "--json", "--pool", "auto")
	if code != 0 {
		t.Fatalf("kvp list --pool auto: exit %d: %s", code, errOut)
	}
	listed := map[string]string{}
	for _, r := range decodeJSONRecords(t, out) {
		listed[exactString(t, r.Key, r.KeyBase64)] = exactString(t, r.Value, r.ValueBase64)
	}
	compared := 0
	for _, it := range items {
		switch it.Key {
		case "FullyQualifiedDomainName", "NetworkAddressIPv4", "NetworkAddressIPv6":
			continue
		}
		compared++
		if got, ok := listed[it.Key]; !ok || got != it.Value {
			t.Errorf("%s: kvp list shows %q (present %v), the agent reports %q", it.Key, got, ok, it.Value)
		}
	}
	if compared != 7 {
		t.Errorf("compared %d keys, want 7: %v", compared, items)
	}
}
