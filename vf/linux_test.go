package vf

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// The Linux topology: the VF is the link whose IFLA_MASTER is a
// synthetic interface (a LinkUpdate carries no address, so sharing the
// synthetic interface's MAC cannot make a link its VF; veth0 here is a
// port of another master); the data path is on it while it is up.
func TestLinuxTopo(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	synthetic := func(name string, _ uint32) bool { return strings.HasPrefix(name, "eth") }
	obs := func(hn, vf string, dp bool) Observation {
		return Observation{HN: hn, VF: vf, Datapath: dp, Transparent: true, At: at}
	}
	tp := newLinuxTopo(synthetic, slog.New(slog.DiscardHandler))
	got := tp.load([]LinkUpdate{
		{Index: 1, Name: "lo", Up: true},
		{Index: 2, Name: "enP1s1", Master: 3, Up: true}, // listed before its master
		{Index: 3, Name: "eth0", Up: true},
		{Index: 4, Name: "eth1", Up: true},
		{Index: 5, Name: "br0"},
		{Index: 6, Name: "veth0", Master: 5, Up: true}, // a bridge port, not a VF
	}, at)
	if want := []Observation{obs("eth0", "enP1s1", true), obs("eth1", "", false)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("load:\n got %+v\nwant %+v", got, want)
	}
	steps := []struct {
		name string
		ups  []LinkUpdate
		want []Observation
	}{
		{"VF down", []LinkUpdate{{Index: 2, Name: "enP1s1", Master: 3}}, []Observation{obs("eth0", "enP1s1", false)}},
		{"unrelated link", []LinkUpdate{{Index: 6, Name: "veth0", Master: 5}}, nil},
		{"VF removed", []LinkUpdate{{Index: 2, Name: "enP1s1", Master: 3, Deleted: true}}, []Observation{obs("eth0", "", false)}},
		{"VF back, not yet enslaved", []LinkUpdate{{Index: 7, Name: "enP1s1"}}, nil},
		{"VF enslaved and up", []LinkUpdate{{Index: 7, Name: "enP1s1", Master: 3}, {Index: 7, Name: "enP1s1", Master: 3, Up: true}},
			[]Observation{obs("eth0", "enP1s1", true)}},
		{"VF moves to eth1", []LinkUpdate{{Index: 7, Name: "enP1s1", Master: 4, Up: true}},
			[]Observation{obs("eth0", "", false), obs("eth1", "enP1s1", true)}},
		{"eth1 removed", []LinkUpdate{{Index: 4, Name: "eth1", Deleted: true}}, []Observation{gone("eth1", at)}},
		{"eth0 renamed eth2", []LinkUpdate{{Index: 3, Name: "eth2", Up: true}}, []Observation{gone("eth0", at), obs("eth2", "", false)}},
	}
	for _, s := range steps {
		if got := tp.apply(s.ups, at); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", s.name, got, s.want)
		}
	}
	// A dump that no longer lists eth2 says it is gone.
	if got, want := tp.load([]LinkUpdate{{Index: 1, Name: "lo"}}, at), []Observation{gone("eth2", at)}; !reflect.DeepEqual(got, want) {
		t.Errorf("reload:\n got %+v\nwant %+v", got, want)
	}
}

// The driver check reads the sysfs driver link.
func TestIsNetvsc(t *testing.T) {
	root := t.TempDir()
	fakeNetvsc(t, root, "eth0")
	mk := filepath.Join(root, "class", "net", "enP1s1", "device")
	if err := os.MkdirAll(mk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../bus/pci/drivers/mlx5_core", filepath.Join(mk, "driver")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"eth0": true, "enP1s1": false, "br0": false, "": false, "..": false, "a/b": false} {
		if got := isNetvsc(root, name, 3); got != want {
			t.Errorf("isNetvsc(%q) = %v, want %v", name, got, want)
		}
	}
	// During a udev rename swap eth0 may, in sysfs, already be another
	// device than the link the event was about: the ifindex tells.
	if err := os.WriteFile(filepath.Join(root, "class", "net", "eth0", "ifindex"), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for index, want := range map[uint32]bool{3: true, 4: false} {
		if got := isNetvsc(root, "eth0", index); got != want {
			t.Errorf("isNetvsc(eth0, ifindex %d) with sysfs ifindex 3 = %v, want %v", index, got, want)
		}
	}
}

// fakeNetvsc makes sysfs under root say that name's driver is hv_netvsc.
func fakeNetvsc(t testing.TB, root, name string) {
	t.Helper()
	dev := filepath.Join(root, "class", "net", name, "device")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../bus/vmbus/drivers/"+NetvscDriver, filepath.Join(dev, "driver")); err != nil {
		t.Fatal(err)
	}
}

var kmsgCases = []struct {
	line string
	want kernelEvent
	ok   bool
}{
	{"6,1093,4370612,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: VF registering: enP30832s1",
		kernelEvent{"eth0", "enP30832s1", KernelVFRegistering}, true},
	{"6,1094,4370700,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: Data path switched to VF: enP30832s1",
		kernelEvent{"eth0", "enP30832s1", KernelSwitchedToVF}, true},
	{"6,1200,94370700,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: Data path switched from VF: enP30832s1",
		kernelEvent{"eth0", "enP30832s1", KernelSwitchedFromVF}, true},
	{"3,1201,94370800,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth1: Data path failed to switch to VF: enP2s1, err: -110",
		kernelEvent{"eth1", "enP2s1", KernelSwitchToFailed}, true},
	{"3,1202,94370900,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth1: Data path failed to switch from VF: enP2s1, err: -5",
		kernelEvent{"eth1", "enP2s1", KernelSwitchFromFail}, true},
	{"6,1203,94371000,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0 (unregistering): VF unregistering: enP30832s1",
		kernelEvent{"eth0", "enP30832s1", KernelVFUnregistering}, true},
	// Without the /dev/kmsg header (dmesg's text).
	{"hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: Data path switched to VF: enP1s1",
		kernelEvent{"eth0", "enP1s1", KernelSwitchedToVF}, true},
	// Not events: the VF's own line, another driver, continuation
	// lines, a truncated line.
	{"6,1095,4370800,-;mlx5_core 7830:00:02.0 enP30832s1: joined to eth0", kernelEvent{}, false},
	{"6,1096,4370900,-;e1000 0000:00:03.0 eth0: Data path switched to VF: eth9", kernelEvent{}, false},
	{" SUBSYSTEM=net", kernelEvent{}, false},
	{" DEVICE=n3", kernelEvent{}, false},
	{"6,1097,4371000,-;hv_netvsc eth0: Data path switched to VF: x", kernelEvent{}, false},
	{"6,1098,4371100,-;hv_netvsc 6045 eth0: Data path switched to VF: ", kernelEvent{}, false},
	{"", kernelEvent{}, false},
	// Names no interface can have: a space (found by FuzzParseKmsg), more
	// than IFNAMSIZ-1 bytes, a '/'.
	{"hv_netvsc 0 00000e0000000000000: VF registering: 00) V", kernelEvent{}, false},
	{"hv_netvsc 0 eth0: VF registering: enP1s1enP1s1enP1s1", kernelEvent{}, false},
	{"hv_netvsc 0 eth0: VF registering: a/b", kernelEvent{}, false},
	// Written from user space: facility LOG_USER (PRIO 14 = 1<<3 | 6),
	// which the kernel enforces on every write to /dev/kmsg.
	{"14,1099,4371200,-;hv_netvsc 0 eth0: VF registering: enP1s1", kernelEvent{}, false},
	{"x,1099,4371200,-;hv_netvsc 0 eth0: VF registering: enP1s1", kernelEvent{}, false},
	// The failure line's ", err: N" is not part of the name.
	{"hv_netvsc 0 eth0: Data path failed to switch to VF: enP1s1, err: -5",
		kernelEvent{"eth0", "enP1s1", KernelSwitchToFailed}, true},
}

func TestParseKmsg(t *testing.T) {
	for _, c := range kmsgCases {
		got, ok := parseKmsg([]byte(c.line))
		if ok != c.ok || got != c.want {
			t.Errorf("parseKmsg(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseKmsg(f *testing.F) {
	for _, c := range kmsgCases {
		f.Add([]byte(c.line))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := parseKmsg(b)
		if !ok {
			return
		}
		if e.HN == "" || e.VF == "" || len(e.HN) > 15 || len(e.VF) > 15 ||
			strings.ContainsAny(e.HN+e.VF, " ,/:\t\n") {
			t.Fatalf("parseKmsg(%q) = %+v", b, e)
		}
	})
}

// readKmsg reassembles lines however the reads split them, and goes on
// after EPIPE (records overwritten).
func TestReadKmsg(t *testing.T) {
	var in bytes.Buffer
	var want []string
	for i := range 50 {
		l := fmt.Sprintf("6,%d,0,-;line %d", i, i)
		want = append(want, l)
		in.WriteString(l + "\n")
	}
	for name, r := range map[string]io.Reader{
		"one byte":   iotest.OneByteReader(bytes.NewReader(in.Bytes())),
		"half":       iotest.HalfReader(bytes.NewReader(in.Bytes())),
		"with EPIPE": io.MultiReader(&epipeOnce{}, bytes.NewReader(in.Bytes())),
	} {
		var got []string
		if err := readKmsg(r, func(b []byte) { got = append(got, string(b)) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %d lines %q…", name, len(got), got[:min(3, len(got))])
		}
	}
}

// A line longer than any record is dropped whole, however the reads
// split it, and the next line is intact: neither its first kmsgBufSize
// bytes nor its start glued to its end come out as a line.
func TestReadKmsgOverlong(t *testing.T) {
	long := "AAAA" + strings.Repeat("B", kmsgBufSize+100) + "CCC"
	in := "short\n" + long + "\nnext\n"
	want := []string{"short", "next"}
	for name, r := range map[string]io.Reader{
		"one byte": iotest.OneByteReader(strings.NewReader(in)),
		"half":     iotest.HalfReader(strings.NewReader(in)),
		// "short\nAAAA", then B… in reads of kmsgBufSize and 100, then
		// "CCC\nnext\n".
		"pieces": io.MultiReader(strings.NewReader("short\nAAAA"),
			strings.NewReader(strings.Repeat("B", kmsgBufSize+100)), strings.NewReader("CCC\nnext\n")),
		"one byte over": iotest.HalfReader(strings.NewReader("short\n" + strings.Repeat("x", kmsgBufSize+1) + "\nnext\n")),
	} {
		var got []string
		if err := readKmsg(r, func(b []byte) { got = append(got, string(b)) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			for i := range got {
				if len(got[i]) > 20 {
					got[i] = fmt.Sprintf("%.10s…(%d bytes)", got[i], len(got[i]))
				}
			}
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	// A line of exactly kmsgBufSize bytes is a record and comes out.
	full := strings.Repeat("y", kmsgBufSize)
	var got []string
	if err := readKmsg(iotest.OneByteReader(strings.NewReader(full+"\nnext\n")), func(b []byte) { got = append(got, string(b)) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != full || got[1] != "next" {
		t.Errorf("a line of kmsgBufSize bytes: got %d lines", len(got))
	}
}

type epipeOnce struct{ done bool }

func (e *epipeOnce) Read([]byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	e.done = true
	return 0, syscallEPIPE
}

var syscallEPIPE error = syscall.EPIPE
