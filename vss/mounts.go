package vss

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mount is one entry of the mount table, in mount order.
type Mount struct {
	Dir      string   // mount point
	Type     string   // filesystem type (ufs, zfs, ext4, tmpfs, ...)
	Source   string   // device, or the ZFS dataset
	ReadOnly bool     //
	Dev      string   // identity of the filesystem: two mounts with the same Dev are one filesystem
	Fsid     [2]int32 // FreeBSD statfs f_fsid
	Loop     bool     // Linux: the block device is, or is stacked on, a loop device
}

// fsClass is what the planner does with a filesystem type.
type fsClass int

const (
	classOther     fsClass = iota // writable, no freeze: skipped with a log line
	classFreezable                // UFS on FreeBSD; ext*/xfs/btrfs on Linux (FIFREEZE)
	classZFS                      // no freeze: --vss.zfs decides
	classPseudo                   // no data of its own: skipped quietly
)

var fsClasses = map[string]fsClass{
	"ufs": classFreezable, "ext2": classFreezable, "ext3": classFreezable,
	"ext4": classFreezable, "xfs": classFreezable, "btrfs": classFreezable,
	"zfs": classZFS,
	// FreeBSD
	"devfs": classPseudo, "fdescfs": classPseudo, "procfs": classPseudo,
	"linprocfs": classPseudo, "linsysfs": classPseudo, "tmpfs": classPseudo,
	"nullfs": classPseudo, "mqueuefs": classPseudo, "autofs": classPseudo,
	"unionfs": classPseudo,
	// Linux
	"proc": classPseudo, "sysfs": classPseudo, "devtmpfs": classPseudo,
	"devpts": classPseudo, "cgroup": classPseudo, "cgroup2": classPseudo,
	"securityfs": classPseudo, "debugfs": classPseudo, "tracefs": classPseudo,
	"pstore": classPseudo, "bpf": classPseudo, "configfs": classPseudo,
	"mqueue": classPseudo, "hugetlbfs": classPseudo, "binfmt_misc": classPseudo,
	"fusectl": classPseudo, "efivarfs": classPseudo, "rpc_pipefs": classPseudo,
	"nsfs": classPseudo, "ramfs": classPseudo, "overlay": classPseudo,
}

func classify(fstype string) fsClass {
	return fsClasses[fstype] // classOther when unknown
}

// ParseMountinfo reads Linux /proc/self/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+3 > len(f) {
			return nil, fmt.Errorf("vss: mountinfo line %d: malformed", line)
		}
		dir, err := unescapeMountinfo(f[4])
		if err != nil {
			return nil, fmt.Errorf("vss: mountinfo line %d: %w", line, err)
		}
		src, _ := unescapeMountinfo(f[sep+2])
		ro := hasOpt(f[5], "ro")
		if sep+3 < len(f) && hasOpt(f[sep+3], "ro") {
			ro = true
		}
		out = append(out, Mount{Dir: dir, Type: f[sep+1], Source: src, ReadOnly: ro, Dev: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vss: mountinfo: %w", err)
	}
	return out, nil
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for space,
// \011 tab, \012 newline, \134 backslash).
func unescapeMountinfo(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}
