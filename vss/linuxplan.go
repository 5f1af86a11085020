package vss

import "strings"

// planLinux applies the Linux daemon's rule to one mount
// (tools/hv/hv_vss_daemon.c, vss_operate): a filesystem on a "/dev/"
// node is frozen unless it is loop-backed (is_dev_loop: the device, or
// any device it is stacked on, is a loop device), mounted read-only, or
// vfat. A mount --vss.include names (named) is frozen even then: the
// tests freeze loop-mounted images that way. A filesystem type without
// freeze support is found out by FIFREEZE itself (EOPNOTSUPP), and
// skipped then. ZFS follows --vss.zfs as on FreeBSD.
func (p *Plan) planLinux(m Mount, named bool, zfs ZFSPolicy, seen map[string]string, skip func(string, bool)) {
	class := classify(m.Type)
	switch {
	case class == classZFS && !m.ReadOnly:
		p.planZFS(m, zfs, skip)
	case !strings.HasPrefix(m.Source, "/dev/"):
		if class == classPseudo || m.ReadOnly {
			skip(m.Type+" holds no data of its own, or none that can change", true)
		} else {
			skip(m.Type+" is not on a block device; its data is only crash-consistent", false)
		}
	case m.ReadOnly && !named:
		skip("read-only", true)
	case m.Loop && !named:
		skip("loop-backed: its data lives on another filesystem", true)
	case m.Type == "vfat" && !named:
		skip("vfat cannot be frozen", false)
	case seen[m.Dev] != "":
		skip("same filesystem as "+seen[m.Dev], true)
	default:
		if m.Dev != "" {
			seen[m.Dev] = m.Dir
		}
		p.Freeze = append(p.Freeze, m)
	}
}

// rootLast moves "/" to the front of ms, the freezer's targets in mount
// order. The freezer freezes in reverse order, so "/" is frozen last, as
// the Linux daemon does it, and thawed first.
func rootLast(ms []Mount) {
	for i, m := range ms {
		if m.Dir == "/" {
			copy(ms[1:i+1], ms[:i])
			ms[0] = m
			return
		}
	}
}
