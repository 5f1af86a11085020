package vss

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func freebsdMounts(t testing.TB) []Mount {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "statfs", "freebsd.bin"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeStatfs(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func linuxMounts(t testing.TB) []Mount {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "mountinfo", "linux.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseMountinfo(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeStatfsFixture(t *testing.T) {
	m := freebsdMounts(t)
	if len(m) != 12 {
		t.Fatalf("%d mounts, want 12", len(m))
	}
	want := []Mount{
		{Dir: "/", Type: "ufs", Source: "/dev/gpt/rootfs", Fsid: [2]int32{0x5F8A1B2C, 0x35}, Dev: "5f8a1b2c:00000035"},
		{Dir: "/backup", Type: "ufs", Source: "/dev/da1p1", ReadOnly: true, Fsid: [2]int32{0x5F8A1B2D, 0x35}, Dev: "5f8a1b2d:00000035"},
	}
	for i, idx := range []int{0, 5} {
		if !reflect.DeepEqual(m[idx], want[i]) {
			t.Errorf("mount %d (-want +got):\n-%+v\n+%+v", idx, want[i], m[idx])
		}
	}
	if _, err := DecodeStatfs(make([]byte, statfsSize+1)); err == nil {
		t.Error("DecodeStatfs accepted a partial struct")
	}
}

func TestParseMountinfo(t *testing.T) {
	m := linuxMounts(t)
	got := fmt.Sprint(m[5])
	want := fmt.Sprint(Mount{Dir: "/srv/data set", Type: "xfs", Source: "/dev/sdb1", Dev: "8:17"})
	if got != want {
		t.Errorf("escaped mount point:\n got %s\nwant %s", got, want)
	}
	if !m[7].ReadOnly || !m[9].ReadOnly || m[2].ReadOnly {
		t.Errorf("read-only flags wrong: %v %v %v", m[7], m[9], m[2])
	}
	for _, bad := range []string{"1 2 3\n", "1 2 0:1 / /x rw shared:1 ext4 /dev/x rw\n", `1 2 0:1 / /x\04 rw - ext4 /dev/x rw` + "\n"} {
		if _, err := ParseMountinfo(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseMountinfo(%q): no error", bad)
		}
	}
}

// TestPlanPolicy is the policy table of hvagent(8), VSS BACKUPS, What is
// frozen: for each mount-table mix and --vss.zfs value, the CHECK answer and the freeze plan.
func TestPlanPolicy(t *testing.T) {
	bsd, lnx := freebsdMounts(t), linuxMounts(t)
	ufs := func(dir string, id int32) Mount {
		return Mount{Dir: dir, Type: "ufs", Source: "/dev/x", Fsid: [2]int32{id, 1}, Dev: fmt.Sprint(id)}
	}
	zfs := func(dir, ds string, ro bool) Mount { return Mount{Dir: dir, Type: "zfs", Source: ds, ReadOnly: ro} }
	tmpfs := Mount{Dir: "/tmp", Type: "tmpfs", Source: "tmpfs"}
	nullfs := Mount{Dir: "/jail/usr", Type: "nullfs", Source: "/usr"}
	tests := []struct {
		name    string
		mounts  []Mount
		pol     Policy
		check   bool
		freeze  []string
		pools   []string
		skipped int
	}{
		{"freebsd guest, sync", bsd, Policy{ZFS: ZFSSync}, true, []string{"/", "/home"}, []string{"tank", "zroot"}, 7},
		{"freebsd guest, fail", bsd, Policy{ZFS: ZFSFail}, false, []string{"/", "/home"}, nil, 10},
		{"freebsd guest, ignore", bsd, Policy{ZFS: ZFSIgnore}, true, []string{"/", "/home"}, nil, 10},
		{"freebsd guest, include /home", bsd, Policy{ZFS: ZFSFail, Include: []string{"/home/"}}, true, []string{"/home"}, nil, 11},
		{"freebsd guest, include a non-mount", bsd, Policy{ZFS: ZFSSync, Include: []string{"/nope"}}, false, nil, nil, 12},
		{"freebsd guest, exclude /h*", bsd, Policy{ZFS: ZFSSync, Exclude: []string{"/h*"}}, true, []string{"/"}, []string{"tank", "zroot"}, 8},
		{"freebsd guest, exclude zfs under fail", bsd, Policy{ZFS: ZFSFail, Exclude: []string{"/zroot", "/data", "/tank/*"}}, true, []string{"/", "/home"}, nil, 10},
		{"ufs only", []Mount{ufs("/", 1), ufs("/var", 2)}, Policy{ZFS: ZFSFail}, true, []string{"/", "/var"}, nil, 0},
		{"zfs root, tmpfs, nullfs, sync", []Mount{zfs("/", "zroot/ROOT/default", false), tmpfs, nullfs}, Policy{ZFS: ZFSSync}, true, nil, []string{"zroot"}, 2},
		{"zfs root, tmpfs, nullfs, fail", []Mount{zfs("/", "zroot/ROOT/default", false), tmpfs, nullfs}, Policy{ZFS: ZFSFail}, false, nil, nil, 3},
		{"read-only zfs under fail", []Mount{ufs("/", 1), zfs("/ro", "z/ro", true)}, Policy{ZFS: ZFSFail}, true, []string{"/"}, nil, 1},
		{"tmpfs and nullfs only", []Mount{tmpfs, nullfs}, Policy{ZFS: ZFSFail}, false, nil, nil, 2},
		{"zfs only, ignore", []Mount{zfs("/", "zroot/ROOT/default", false), tmpfs}, Policy{ZFS: ZFSIgnore}, false, nil, nil, 2},
		{"linux without --vss.include", lnx, Policy{ZFS: ZFSSync, RequireInclude: true}, false, nil, nil, 0},
		{"linux with --vss.include", lnx, Policy{ZFS: ZFSSync, RequireInclude: true, Include: []string{"/"}}, true, []string{"/"}, nil, len(lnx) - 1},
		{"include a pseudo filesystem", lnx, Policy{ZFS: ZFSSync, Include: []string{"/proc"}}, false, nil, nil, len(lnx)},
		{"same fs twice", []Mount{ufs("/", 1), ufs("/again", 1)}, Policy{ZFS: ZFSSync}, true, []string{"/"}, nil, 1},
		{"linux guest, sync", lnx, Policy{ZFS: ZFSSync}, true, []string{"/", "/srv/data set"}, []string{"tank"}, 7},
		{"linux guest, fail", lnx, Policy{ZFS: ZFSFail}, false, []string{"/", "/srv/data set"}, nil, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MakePlan(tt.mounts, tt.pol)
			if got := p.Refusal == nil; got != tt.check {
				t.Errorf("CHECK ok = %v, want %v (refusal %v)", got, tt.check, p.Refusal)
			}
			if got := dirs(p.Freeze); !slices.Equal(got, tt.freeze) {
				t.Errorf("freeze (-want +got):\n-%q\n+%q", tt.freeze, got)
			}
			if !reflect.DeepEqual(p.Pools, tt.pools) {
				t.Errorf("pools (-want +got):\n-%q\n+%q", tt.pools, p.Pools)
			}
			if len(p.Skipped) != tt.skipped {
				t.Errorf("%d skipped, want %d: %+v", len(p.Skipped), tt.skipped, p.Skipped)
			}
		})
	}
}

func TestParseZFSPolicy(t *testing.T) {
	for _, s := range []string{"sync", "fail", "ignore"} {
		if p, err := ParseZFSPolicy(s); err != nil || string(p) != s {
			t.Errorf("ParseZFSPolicy(%q) = %q, %v", s, p, err)
		}
	}
	if _, err := ParseZFSPolicy("freeze"); err == nil {
		t.Error("ParseZFSPolicy(freeze): no error")
	}
}

func FuzzParseMountinfo(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("testdata", "mountinfo", "linux.txt"))
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMountinfo(strings.NewReader(s))
		if err != nil {
			return
		}
		MakePlan(ms, Policy{ZFS: ZFSSync}) // never panics
	})
}

func FuzzDecodeStatfs(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("testdata", "statfs", "freebsd.bin"))
	f.Add(b[:statfsSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		if ms, err := DecodeStatfs(b); err == nil {
			MakePlan(ms, Policy{ZFS: ZFSFail})
		}
	})
}
