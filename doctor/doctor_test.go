package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/command/commandtest"
	"github.com/hvagent/hvagent/vss"
)

func TestHypervisor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sysctl fakeSysctl
		os     string
		vmbus  bool
		want   Status
	}{
		{"hyper-v", fakeSysctl{"kern.vm_guest": "hv"}, "freebsd", false, OK},
		{"kvm", fakeSysctl{"kern.vm_guest": "kvm"}, "freebsd", false, Fail},
		{"bare metal", fakeSysctl{"kern.vm_guest": "none"}, "freebsd", false, Fail},
		{"no sysctl", fakeSysctl{}, "freebsd", false, Warn},
		{"linux on vmbus", fakeSysctl{}, "linux", true, OK},
		{"linux elsewhere", fakeSysctl{}, "linux", false, Warn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := fakeFS{}
			if tc.vmbus {
				files[linuxVMBusDir] = dir(0o755)
			}
			r := &Report{}
			checkHypervisor(r, Env{Sysctl: tc.sysctl, Stat: files.stat}, Config{OS: tc.os})
			f := one(t, r, "hyperv", "")
			if f.Status != tc.want {
				t.Errorf("status %s, want %s: %s", f.Status, tc.want, f.Seen)
			}
			if (f.Status == Warn || f.Status == Fail) && f.Remedy == "" {
				t.Errorf("%s without a remedy", f.Status)
			}
		})
	}
}

func TestDeviceAndHolders(t *testing.T) {
	const dev = "/dev/hv_kvp_dev"
	for _, tc := range []struct {
		name      string
		file      *fakeFile
		holders   []Process
		err       error
		canSeeAll bool
		want      []Status // kvp.device, then each kvp.holder
		remedy    string   // in the last finding's remedy
	}{
		{name: "agent holds it", file: ptr(charDev("hv_kvp_dev")), holders: []Process{{1043, "hvagent"}}, canSeeAll: true,
			want: []Status{OK, OK}},
		{name: "base daemon holds it", file: ptr(charDev("hv_kvp_dev")), holders: []Process{{612, "hv_kvp_daemon"}}, canSeeAll: true,
			want: []Status{OK, Fail}, remedy: "service hvagent restart"},
		{name: "someone else", file: ptr(charDev("hv_kvp_dev")), holders: []Process{{99, "cat"}}, canSeeAll: true,
			want: []Status{OK, Fail}, remedy: "cat"},
		{name: "nobody", file: ptr(charDev("hv_kvp_dev")), canSeeAll: true,
			want: []Status{OK, Warn}, remedy: "service hvagent start"},
		{name: "nobody visible", file: ptr(charDev("hv_kvp_dev")),
			want: []Status{OK, Warn}, remedy: "as root"},
		{name: "holders unknown", file: ptr(charDev("hv_kvp_dev")), err: errors.New("fstat: not found"), canSeeAll: true,
			want: []Status{OK, Warn}, remedy: "fstat"},
		{name: "missing", want: []Status{Warn}, remedy: "integration services"},
		{name: "socket", file: &fakeFile{mode: fs.ModeSocket | 0o755}, want: []Status{Info}},
		{name: "regular file", file: &fakeFile{mode: 0o644}, want: []Status{Fail}, remedy: "--kvp.device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := fakeFS{}
			if tc.file != nil {
				files[dev] = *tc.file
			}
			var opened []string
			env := Env{Stat: files.stat, CanSeeAll: tc.canSeeAll,
				Holders: func(_ context.Context, path string) ([]Process, error) {
					opened = append(opened, path)
					return tc.holders, tc.err
				}}
			r := &Report{}
			checkDevice(context.Background(), r, env, Config{OS: "freebsd"}, kvpDevice(dev))
			var got []Status
			for _, f := range r.Findings {
				got = append(got, f.Status)
				if f.Subject != dev {
					t.Errorf("finding %s has subject %q, want %q", f.ID, f.Subject, dev)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("statuses %v, want %v:\n%s", got, tc.want, dump(r))
			}
			last := r.Findings[len(r.Findings)-1]
			if !strings.Contains(last.Remedy, tc.remedy) {
				t.Errorf("remedy %q does not mention %q", last.Remedy, tc.remedy)
			}
			if len(got) == 1 && len(opened) > 0 {
				t.Errorf("holders listed for a %s", tc.name)
			}
		})
	}
}

func TestBaseDaemonRemedyLinux(t *testing.T) {
	files := fakeFS{"/dev/vmbus/hv_vss": charDev("hv_vss")}
	env := Env{Stat: files.stat, CanSeeAll: true, Holders: func(context.Context, string) ([]Process, error) {
		return []Process{{500, "hypervvssd"}}, nil
	}}
	r := &Report{}
	checkDevice(context.Background(), r, env, Config{OS: "linux"}, vssDevice("/dev/vmbus/hv_vss", env))
	f := one(t, r, "vss.holder", "")
	if f.Status != Fail || !strings.Contains(f.Remedy, "systemctl mask --now hv-vss-daemon.service") {
		t.Errorf("got %s %q / %q", f.Status, f.Seen, f.Remedy)
	}
}

func TestVSSDeviceAlias(t *testing.T) {
	files := fakeFS{vss.AliasDevice: charDev("hv_fsfreeze_dev")}
	if d := vssDevice(vss.DefaultDevice, Env{Stat: files.stat}); d.path != vss.AliasDevice {
		t.Errorf("default path with only the alias present: checked %s, want %s", d.path, vss.AliasDevice)
	}
	if d := vssDevice("/other", Env{Stat: files.stat}); d.path != "/other" {
		t.Errorf("an explicit path became %s", d.path)
	}
}

// The samples follow usr.bin/fstat/fstat.c: the header of fstat1, then
// per file printf("%-8.8s %-10s %5d", uname, cmd, pid), " %4d" for the
// descriptor, and print_vnode_info's " %-8s" mount, " %6jd %10s" inode
// and mode, " %6s" device name, " %2s" access, then "  %s" the name.
func TestParseFstat(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []Process
	}{
		{"fstat-base-daemon.txt", []Process{{612, "hv_kvp_daemon"}}},
		{"fstat-agent.txt", []Process{{1043, "hvagent"}}}, // two descriptors, one process
		{"fstat-nobody.txt", nil},
		{"fstat-two.txt", []Process{{701, "hv_vss_daemon"}, {2210, "backup tool"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFstat(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := ParseFstat("USER CMD PID FD\nsomething else\n"); err == nil {
		t.Error("a line that is not an fstat entry parsed")
	}
}

func TestFstatHolders(t *testing.T) {
	b, err := os.ReadFile("testdata/fstat-base-daemon.txt")
	if err != nil {
		t.Fatal(err)
	}
	run := (&commandtest.Fake{}).On("fstat /dev/hv_kvp_dev", commandtest.Out(string(b)))
	got, err := FstatHolders(run)(context.Background(), "/dev/hv_kvp_dev")
	if err != nil || len(got) != 1 || got[0].Command != "hv_kvp_daemon" {
		t.Fatalf("got %v, %v", got, err)
	}
	if want := []string{"fstat /dev/hv_kvp_dev"}; !slices.Equal(run.Calls(), want) {
		t.Errorf("ran %q, want %q", run.Calls(), want)
	}
}

// TestProcHolders builds a /proc tree: fd links as readlink(2) shows
// them for /proc/PID/fd/N, and comm files.
func TestProcHolders(t *testing.T) {
	root := t.TempDir()
	mk := func(pid, comm string, fds map[string]string) {
		fdDir := filepath.Join(root, pid, "fd")
		if err := os.MkdirAll(fdDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "comm"), []byte(comm+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for fd, target := range fds {
			if err := os.Symlink(target, filepath.Join(fdDir, fd)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("1", "systemd", map[string]string{"0": "/dev/null"})
	mk("612", "hv_kvp_daemon", map[string]string{"0": "/dev/null", "3": "/dev/vmbus/hv_kvp"})
	mk("700", "hvagent", map[string]string{"5": "socket:[1234]", "6": "/dev/vmbus/hv_vss"})
	if err := os.MkdirAll(filepath.Join(root, "sys"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ProcHolders(root)(context.Background(), "/dev/vmbus/hv_kvp")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Process{{612, "hv_kvp_daemon"}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	got, _ = ProcHolders(root)(context.Background(), "/dev/hv_kvp_dev")
	if len(got) != 0 {
		t.Errorf("holders of a device nobody has open: %v", got)
	}
}

func TestTrustedDir(t *testing.T) {
	const pool = "/var/db/hyperv/pool"
	for _, tc := range []struct {
		name  string
		files fakeFS
		want  Status
		fix   string // in the remedy
	}{
		{"0700 root", fakeFS{pool: dir(0o700)}, OK, ""},
		{"0755 root", fakeFS{pool: dir(0o755)}, Warn, "chmod 0700"},
		{"group writable", fakeFS{pool: dir(0o770)}, Fail, "chmod go-w " + pool},
		{"someone else's", fakeFS{pool: fakeFile{mode: fs.ModeDir | 0o700, uid: 1001}}, Fail, "chown root " + pool},
		{"the agent user's", fakeFS{pool: fakeFile{mode: fs.ModeDir | 0o700, uid: 185}}, OK, ""},
		{"parent writable", fakeFS{pool: dir(0o700), "/var/db/hyperv": dir(0o777)}, Fail, "chmod go-w /var/db/hyperv"},
		{"parent root sticky", fakeFS{pool: dir(0o700), "/var/db/hyperv": dir(0o777 | fs.ModeSticky)}, OK, ""},
		{"parent sticky not root's", fakeFS{pool: dir(0o700),
			"/var/db/hyperv": {mode: fs.ModeDir | fs.ModeSticky | 0o777, uid: 1001}}, Fail, "/var/db/hyperv"},
		{"missing", fakeFS{"/var/db/hyperv": dir(0o755)}, Info, ""},
		{"missing under a bad parent", fakeFS{"/var/db/hyperv": dir(0o777)}, Fail, "/var/db/hyperv"},
		{"a file", fakeFS{pool: {mode: 0o600}}, Fail, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			checkTrustedDir(r, Env{Stat: tc.files.stat, Euid: 185}, "kvp.pool-dir", pool, "created on start")
			f := one(t, r, "kvp.pool-dir", pool)
			if f.Status != tc.want || !strings.Contains(f.Remedy, tc.fix) {
				t.Errorf("got %s %q, remedy %q; want %s with %q", f.Status, f.Seen, f.Remedy, tc.want, tc.fix)
			}
		})
	}
}

func TestPoolFiles(t *testing.T) {
	const d = "/p"
	file := func(mode fs.FileMode, records int64) fakeFile {
		return fakeFile{mode: mode, size: records * recordSize}
	}
	files := fakeFS{
		d + "/.kvp_pool_0": file(0o600, 3),
		d + "/.kvp_pool_1": file(0o644, 1),
		d + "/.kvp_pool_2": {mode: 0o600, size: recordSize + 100},
		d + "/.kvp_pool_3": file(0o600, hostRecordLimit+1),
		d + "/.kvp_pool_4": {mode: fs.ModeSymlink | 0o777},
	}
	r := &Report{}
	checkPoolFiles(r, Env{Lstat: files.stat}, d)
	want := map[string]Status{
		d + "/.kvp_pool_1": Warn, d + "/.kvp_pool_2": Warn, d + "/.kvp_pool_3": Warn,
		d + "/.kvp_pool_4": Fail, d: OK,
	}
	if len(r.Findings) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(r.Findings), len(want), dump(r))
	}
	for _, f := range r.Findings {
		if f.Status != want[f.Subject] {
			t.Errorf("%s: %s (%s), want %s", f.Subject, f.Status, f.Seen, want[f.Subject])
		}
		if f.Status != OK && f.Remedy == "" {
			t.Errorf("%s: %s without a remedy", f.Subject, f.Status)
		}
	}
}

func TestHooks(t *testing.T) {
	d := t.TempDir()
	write := func(name string, mode fs.FileMode) {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write("10-db", 0o755)
	write("20-app", 0o755)
	write("20-app.bak", 0o755)
	write("30-loose", 0o777)
	write("README", 0o644)
	r := &Report{}
	got := checkHooks(r, d)
	if want := []string{"10-db", "20-app"}; !slices.Equal(got, want) {
		t.Errorf("hooks %q, want %q", got, want)
	}
	if f := one(t, r, "vss.hooks", "30-loose"); f.Status != Warn {
		t.Errorf("loose hook: %s %q", f.Status, f.Seen)
	}
	if f := one(t, r, "vss.hooks", d); f.Status != Info || !strings.Contains(f.Seen, "10-db, 20-app") {
		t.Errorf("hook list: %s %q", f.Status, f.Seen)
	}

	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	r = &Report{}
	if got := checkHooks(r, d); got != nil || one(t, r, "vss.hooks", d).Status != Fail {
		t.Errorf("a world-writable hooks directory: hooks %q\n%s", got, dump(r))
	}
}

func TestPlan(t *testing.T) {
	mounts := []vss.Mount{
		{Dir: "/", Type: "ufs", Source: "/dev/da0p2", Dev: "1"},
		{Dir: "/dev", Type: "devfs", Source: "devfs"},
		{Dir: "/data", Type: "zfs", Source: "tank/data"},
		{Dir: "/nfs", Type: "nfs", Source: "srv:/x"},
	}
	for _, tc := range []struct {
		name   string
		pol    vss.Policy
		err    error
		want   Status
		seen   string
		remedy string
	}{
		{name: "sync", pol: vss.Policy{ZFS: vss.ZFSSync}, want: OK, seen: "run 1 hook(s), then freeze / (ufs), then zpool sync tank"},
		{name: "zfs fail", pol: vss.Policy{ZFS: vss.ZFSFail}, want: Fail, remedy: "--vss.zfs=sync"},
		{name: "include required", pol: vss.Policy{RequireInclude: true}, want: Fail, remedy: "--vss.include"},
		{name: "include not a mount", pol: vss.Policy{Include: []string{"/nope"}}, want: Fail, remedy: "correct --vss.include"},
		{name: "nothing", pol: vss.Policy{ZFS: vss.ZFSIgnore, Exclude: []string{"/"}}, want: Fail, remedy: "--vss.exclude"},
		{name: "no mount table", err: errors.New("EPERM"), want: Warn, remedy: "root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{Mounts: func() ([]vss.Mount, error) { return mounts, tc.err }}
			r := &Report{}
			checkPlan(r, env, tc.pol, []string{"10-db"})
			f := one(t, r, "vss.plan", "")
			if f.Status != tc.want || !strings.Contains(f.Seen, tc.seen) || !strings.Contains(f.Remedy, tc.remedy) {
				t.Errorf("got %s %q / %q", f.Status, f.Seen, f.Remedy)
			}
			if tc.name == "sync" {
				skip := one(t, r, "vss.skip", "/nfs")
				if skip.Status != Info || !strings.Contains(skip.Seen, "nfs") {
					t.Errorf("nfs skip: %s %q", skip.Status, skip.Seen)
				}
				if len(byID(r, "vss.skip", "/dev")) != 0 {
					t.Error("devfs reported: pseudo filesystems are skipped quietly")
				}
			}
		})
	}
}

func TestRunJSONShape(t *testing.T) {
	cfg := fakeConfig(t)
	env := fakeEnv()
	rep := Run(context.Background(), cfg, env)
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if keys := sortedKeys(doc); !slices.Equal(keys, []string{"findings", "summary"}) {
		t.Fatalf("top-level keys %q", keys)
	}
	var summary map[string]int
	if err := json.Unmarshal(doc["summary"], &summary); err != nil {
		t.Fatal(err)
	}
	if keys := sortedKeys(summary); !slices.Equal(keys, []string{"fail", "info", "ok", "warn"}) {
		t.Fatalf("summary keys %q", keys)
	}
	var findings []map[string]string
	if err := json.Unmarshal(doc["findings"], &findings); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	allowed := []string{"id", "subject", "status", "seen", "remedy"}
	for _, f := range findings {
		for k := range f {
			if !slices.Contains(allowed, k) {
				t.Errorf("unexpected field %q in %v", k, f)
			}
		}
		if f["id"] == "" || f["seen"] == "" {
			t.Errorf("finding without id or seen: %v", f)
		}
		st := f["status"]
		counts[st]++
		if (st == "warn" || st == "fail") != (f["remedy"] != "") {
			t.Errorf("a %s finding with remedy %q: %v", st, f["remedy"], f)
		}
	}
	for st, n := range counts {
		if summary[st] != n {
			t.Errorf("summary[%s] = %d, counted %d", st, summary[st], n)
		}
	}
	// The guest is healthy except that no agent answers on :9855.
	if rep.Failed() || summary["warn"] != 1 || one(t, rep, "metrics.listener", ":9855").Status != Warn {
		t.Errorf("summary %v:\n%s", summary, dump(rep))
	}
	for _, id := range []string{"hyperv", "kvp.device", "kvp.holder", "kvp.pool-dir", "vss.device", "vss.holder", "vss.plan"} {
		if len(byID(rep, id, "")) == 0 {
			t.Errorf("no %s finding", id)
		}
	}
}

func TestRunFailsOnBaseDaemon(t *testing.T) {
	env := fakeEnv()
	env.Holders = func(_ context.Context, path string) ([]Process, error) {
		if path == "/dev/hv_kvp_dev" {
			return []Process{{612, "hv_kvp_daemon"}}, nil
		}
		return []Process{{1043, "hvagent"}}, nil
	}
	rep := Run(context.Background(), fakeConfig(t), env)
	if !rep.Failed() || rep.Summary.Fail != 1 {
		t.Errorf("want exactly one fail:\n%s", dump(rep))
	}
}

func TestRunDisabled(t *testing.T) {
	cfg := fakeConfig(t)
	cfg.Disabled = []string{"kvp", "vss", "vf"}
	env := fakeEnv()
	env.Holders = func(context.Context, string) ([]Process, error) {
		t.Error("holders listed for a disabled subsystem")
		return nil, nil
	}
	rep := Run(context.Background(), cfg, env)
	for _, sub := range []string{"kvp", "vss", "vf"} {
		if f := one(t, rep, sub, ""); f.Status != Info {
			t.Errorf("%s: %s", sub, f.Status)
		}
	}
}

func TestWriteText(t *testing.T) {
	r := &Report{}
	r.add(Finding{ID: "hyperv", Status: OK, Seen: "kern.vm_guest=hv"})
	r.add(Finding{ID: "kvp.holder", Subject: "/dev/hv_kvp_dev", Status: Fail, Seen: "held by\nhv_kvp_daemon", Remedy: "service hvagent restart"})
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"STATUS  CHECK                       SEEN\n" +
		"ok      hyperv                      kern.vm_guest=hv\n" +
		"fail    kvp.holder /dev/hv_kvp_dev  held by hv_kvp_daemon\n" +
		"                                    remedy: service hvagent restart\n" +
		"\n" +
		"1 fail, 0 warn, 1 ok, 0 info\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func ptr[T any](v T) *T { return &v }
