package vss

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sysTree makes a sysfs tree: dev/block/MAJ:MIN for each device, a loop/
// directory for loop devices, and slaves/ links for stacked ones, the
// way the kernel lays them out (slaves/NAME links to the slave's
// directory).
func sysTree(t *testing.T, loops []string, stacks map[string][]string) string {
	t.Helper()
	root := t.TempDir()
	blk := filepath.Join(root, "dev", "block")
	mk := func(dev string) string {
		d := filepath.Join(blk, dev)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, l := range loops {
		if err := os.MkdirAll(filepath.Join(mk(l), "loop"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for upper, lowers := range stacks {
		d := filepath.Join(mk(upper), "slaves")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, lower := range lowers {
			if err := os.Symlink(mk(lower), filepath.Join(d, "x"+lower)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

const linuxMountinfo = `22 28 0:21 / /sys rw,nosuid - sysfs sysfs rw
28 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw
30 28 0:26 / /run rw,nosuid - tmpfs tmpfs rw
41 28 259:1 / /boot/efi rw,relatime - vfat /dev/nvme0n1p1 rw
42 28 8:17 / /srv rw,noatime - xfs /dev/sdb1 rw
43 28 259:2 /var/lib/docker /var/lib/docker rw - ext4 /dev/nvme0n1p2 rw
44 28 7:0 / /snap/core/1 ro,nodev - squashfs /dev/loop0 ro
45 28 7:1 / /img rw - ext4 /dev/loop1 rw
46 28 253:0 / /crypt rw - ext4 /dev/mapper/c rw
47 28 253:1 / /data rw - btrfs /dev/mapper/d rw
48 28 8:33 / /mnt/old rw - ext4 /dev/sdc1 ro
49 28 0:50 / /tank rw - zfs tank rw
50 28 0:51 / /nfs rw - nfs4 host:/x rw
`

func linuxTable(t *testing.T) []Mount {
	t.Helper()
	info := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(info, []byte(linuxMountinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	// 253:0 is dm on md 9:0 on loop 7:2; 253:1 is dm on 8:48, a disk.
	sys := sysTree(t, []string{"7:0", "7:1", "7:2"}, map[string][]string{"253:0": {"9:0"}, "9:0": {"7:2"}, "253:1": {"8:48"}})
	rdev := func(path string) (string, error) {
		// The device nodes as stat would see them; /dev/mapper/d's
		// filesystem number (btrfs) is not its device's.
		return map[string]string{
			"/dev/nvme0n1p2": "259:2", "/dev/nvme0n1p1": "259:1", "/dev/sdb1": "8:17",
			"/dev/loop0": "7:0", "/dev/loop1": "7:1", "/dev/mapper/c": "253:0", "/dev/mapper/d": "253:1", "/dev/sdc1": "8:33",
		}[path], nil
	}
	ms, err := LinuxMounts{MountInfo: info, SysRoot: sys, Rdev: rdev}.Read()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestLinuxMountsLoop(t *testing.T) {
	var loops []string
	for _, m := range linuxTable(t) {
		if m.Loop {
			loops = append(loops, m.Dir)
		}
	}
	if want := []string{"/snap/core/1", "/img", "/crypt"}; !slices.Equal(loops, want) {
		t.Errorf("loop-backed %q, want %q", loops, want)
	}
}

// The Linux daemon's rule: /dev/ sources, not loop-backed, not ro, not
// vfat, "/" frozen last (first in the targets: the freezer works
// backwards), each filesystem once; --vss.include overrides loop, ro and
// vfat.
func TestLinuxPlan(t *testing.T) {
	ms := linuxTable(t)
	tests := []struct {
		name   string
		pol    Policy
		freeze []string
		pools  []string
		refuse bool
	}{
		{"guest", Policy{Linux: true, ZFS: ZFSSync}, []string{"/", "/srv", "/data"}, []string{"tank"}, false},
		{"zfs ignored", Policy{Linux: true, ZFS: ZFSIgnore}, []string{"/", "/srv", "/data"}, nil, false},
		{"zfs fail", Policy{Linux: true, ZFS: ZFSFail}, []string{"/", "/srv", "/data"}, nil, true},
		{"include a loop image", Policy{Linux: true, Include: []string{"/img"}}, []string{"/img"}, nil, false},
		{"include vfat, ro, dm on loop", Policy{Linux: true, Include: []string{"/boot/efi", "/mnt/old", "/crypt"}}, []string{"/boot/efi", "/crypt", "/mnt/old"}, nil, false},
		{"exclude", Policy{Linux: true, ZFS: ZFSIgnore, Exclude: []string{"/srv"}}, []string{"/", "/data"}, nil, false},
		{"simulated kernel without include", Policy{Linux: true, RequireInclude: true}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MakePlan(ms, tt.pol)
			if got := dirs(p.Freeze); !slices.Equal(got, tt.freeze) {
				t.Errorf("freeze %q, want %q", got, tt.freeze)
			}
			if !slices.Equal(p.Pools, tt.pools) {
				t.Errorf("pools %q, want %q", p.Pools, tt.pools)
			}
			if (p.Refusal != nil) != tt.refuse {
				t.Errorf("refusal %v, want one: %v", p.Refusal, tt.refuse)
			}
		})
	}
	// Every mount the plan leaves alone says why.
	p := MakePlan(ms, Policy{Linux: true, ZFS: ZFSSync})
	if n := len(p.Freeze) + len(p.Skipped); n != len(ms)-1 { // tank is synced
		t.Errorf("%d frozen + %d skipped of %d mounts", len(p.Freeze), len(p.Skipped), len(ms))
	}
}

func TestRootLast(t *testing.T) {
	ms := []Mount{{Dir: "/a"}, {Dir: "/b"}, {Dir: "/"}, {Dir: "/c"}}
	rootLast(ms)
	if got, want := dirs(ms), []string{"/", "/a", "/b", "/c"}; !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestLinuxMountsMissingTable(t *testing.T) {
	_, err := LinuxMounts{MountInfo: filepath.Join(t.TempDir(), "none")}.Read()
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err %v, want not exist", err)
	}
}
