package vss

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ZFSPolicy says what to do with writable ZFS datasets (--vss.zfs).
type ZFSPolicy string

// ZFS policies (--vss.zfs; hvagent(8), VSS BACKUPS).
const (
	ZFSSync   ZFSPolicy = "sync"   // zpool sync their pools and count them as consistent
	ZFSFail   ZFSPolicy = "fail"   // refuse the backup, as hv_vss_daemon does
	ZFSIgnore ZFSPolicy = "ignore" // skip them
)

// ParseZFSPolicy accepts sync, fail and ignore.
func ParseZFSPolicy(s string) (ZFSPolicy, error) {
	switch p := ZFSPolicy(s); p {
	case ZFSSync, ZFSFail, ZFSIgnore:
		return p, nil
	}
	return "", fmt.Errorf("unknown ZFS policy %q (want sync, fail or ignore)", s)
}

// Policy decides what is frozen.
type Policy struct {
	ZFS     ZFSPolicy
	Include []string // mount points; when set, only these are ever frozen
	Exclude []string // mount-point globs (path.Match) never frozen
	// RequireInclude refuses every freeze unless Include names what to
	// freeze. The daemon sets it on Linux, and the Service lifts it while
	// it serves the Linux kernel's own device: with a simulated kernel
	// (tests, the demo) freezing the machine's own root can hang it.
	RequireInclude bool
	// Linux selects the Linux daemon's rule (tools/hv/hv_vss_daemon.c,
	// vss_operate): freeze every mount whose source is a /dev/ node,
	// except loop-backed ones, read-only ones and vfat, unless Include
	// names them; "/" last.
	Linux bool
}

// Plan is what a FREEZE does under a Policy.
type Plan struct {
	Freeze  []Mount  // filesystems to freeze, in mount order
	Pools   []string // ZFS pools to zpool sync, sorted
	Skipped []Skip   // everything else, and why
	// Refusal, when set, fails CHECK and FREEZE.
	Refusal error
}

// Skip is a mount the plan leaves alone.
type Skip struct {
	Mount  Mount
	Reason string
	Quiet  bool // pseudo filesystems and the like: not worth an info line
}

// Targets returns the freezer's targets for the plan.
func (p Plan) Targets() []Target {
	t := make([]Target, len(p.Freeze))
	for i, m := range p.Freeze {
		t[i] = Target{Dir: m.Dir, Fsid: m.Fsid}
	}
	return t
}

// ErrNothingToFreeze is the refusal of a plan that would neither freeze
// a filesystem nor sync a ZFS pool.
var ErrNothingToFreeze = errors.New("vss: nothing to freeze or sync under the policy (see --vss.include, --vss.exclude, --vss.zfs); the snapshot can only be crash-consistent")

var errIncludeRequired = errors.New("vss: on this system only the mount points named by --vss.include are frozen, and it names none")

// MakePlan applies the policy to a mount table in mount order. CHECK
// answers success exactly when the plan has no Refusal.
func MakePlan(mounts []Mount, pol Policy) Plan {
	var p Plan
	if pol.RequireInclude && len(pol.Include) == 0 {
		p.Refusal = errIncludeRequired
		return p
	}
	include := make(map[string]bool, len(pol.Include))
	for _, d := range pol.Include {
		include[filepath.Clean(d)] = false
	}
	seen := map[string]string{} // Dev -> first mount point
	for _, m := range mounts {
		skip := func(reason string, quiet bool) { p.Skipped = append(p.Skipped, Skip{m, reason, quiet}) }
		class := classify(m.Type)
		if len(include) > 0 {
			if _, ok := include[m.Dir]; !ok {
				skip("not in --vss.include", true)
				continue
			}
			include[m.Dir] = true
		}
		if g := matchAny(pol.Exclude, m.Dir); g != "" {
			skip("excluded by --vss.exclude "+g, false)
			continue
		}
		if pol.Linux {
			p.planLinux(m, len(include) > 0, pol.ZFS, seen, skip)
			continue
		}
		switch {
		case m.ReadOnly:
			skip("read-only", true)
		case class == classPseudo:
			skip(m.Type+" holds no data of its own", true)
		case class == classZFS:
			p.planZFS(m, pol.ZFS, skip)
		case class == classOther:
			skip("no freeze for "+m.Type+"; its data is only crash-consistent", false)
		case seen[m.Dev] != "":
			skip("same filesystem as "+seen[m.Dev], true)
		default:
			if m.Dev != "" {
				seen[m.Dev] = m.Dir
			}
			p.Freeze = append(p.Freeze, m)
		}
	}
	for _, d := range sortedKeys(include) {
		if !include[d] && p.Refusal == nil {
			p.Refusal = fmt.Errorf("vss: --vss.include %s is not a mount point", d)
		}
	}
	if pol.Linux {
		rootLast(p.Freeze)
	}
	slices.Sort(p.Pools)
	p.Pools = slices.Compact(p.Pools)
	if p.Refusal == nil && len(p.Freeze) == 0 && len(p.Pools) == 0 {
		// Success would have the host label a crash-consistent snapshot
		// application-consistent. Refusing makes it take a crash-
		// consistent one and say so, which is the truth.
		p.Refusal = ErrNothingToFreeze
	}
	return p
}

func (p *Plan) planZFS(m Mount, pol ZFSPolicy, skip func(string, bool)) {
	switch pol {
	case ZFSFail:
		if p.Refusal == nil {
			p.Refusal = fmt.Errorf("vss: writable ZFS dataset %s on %s cannot be frozen and --vss.zfs=fail", m.Source, m.Dir)
		}
		skip("ZFS with --vss.zfs=fail", false)
	case ZFSIgnore:
		skip("ZFS with --vss.zfs=ignore", true)
	default:
		pool, _, _ := strings.Cut(m.Source, "/")
		pool, _, _ = strings.Cut(pool, "@")
		p.Pools = append(p.Pools, pool)
	}
}

func matchAny(globs []string, dir string) string {
	for _, g := range globs {
		if ok, _ := path.Match(g, dir); ok {
			return g
		}
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
