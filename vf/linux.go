package vf

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Linux guests: the kernel's hv_netvsc driver does the failover itself
// (drivers/net/hyperv/netvsc_drv.c): it enslaves the VF under the
// synthetic interface (netvsc_vf_join, netdev_master_upper_dev_link) and
// switches the data path on the VF's UP/DOWN/CHANGE/GOING_DOWN events
// (netvsc_netdev_event, netvsc_vf_changed: vf_is_up =
// netif_running(vf_netdev)). hvagent only observes, through rtnetlink:
// a VF is present while a link has IFLA_MASTER = a synthetic interface,
// and the data path is on it while it is IFF_UP (SPEC §9 "VF").

// Protocol is the kernel the subsystem follows: FreeBSD's hn(4) through
// devd, or Linux's hv_netvsc through rtnetlink. The zero value is
// FreeBSD.
type Protocol int

const (
	ProtocolFreeBSD Protocol = iota
	ProtocolLinux
)

func (p Protocol) String() string {
	if p == ProtocolLinux {
		return "linux"
	}
	return "freebsd"
}

// DefaultProtocol is the running system's.
func DefaultProtocol() Protocol {
	if runtime.GOOS == "linux" {
		return ProtocolLinux
	}
	return ProtocolFreeBSD
}

// ParseProtocol accepts freebsd and linux.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "freebsd":
		return ProtocolFreeBSD, nil
	case "linux":
		return ProtocolLinux, nil
	}
	return 0, fmt.Errorf("unknown VF protocol %q (want freebsd or linux)", s)
}

// NetvscDriver is the synthetic NIC driver's name as sysfs shows it:
// drivers/net/hyperv/netvsc_drv.c, netvsc_drv.name = KBUILD_MODNAME
// ("hv_netvsc", the module built from drivers/net/hyperv/Makefile).
const NetvscDriver = "hv_netvsc"

// DefaultSysRoot is where sysfs is mounted.
const DefaultSysRoot = "/sys"

// isNetvsc reports whether interface name is driven by hv_netvsc: the
// last element of the device's driver link,
// /sys/class/net/NAME/device/driver (Documentation/ABI/testing/
// sysfs-class-net; the link points at /sys/bus/vmbus/drivers/hv_netvsc).
// Interfaces without a device (bridges, veth, lo) are not.
//
// The name is the one the link event carried; by the time sysfs is read
// a udev rename swap may have given it to another device, so
// /sys/class/net/NAME/ifindex (Documentation/ABI/testing/
// sysfs-class-net) must be index too; if not, the link counts as not
// synthetic until its next event. A stand-in without an ifindex file
// (the demo's) skips that comparison.
func isNetvsc(sysRoot, name string, index uint32) bool {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return false
	}
	dir := filepath.Join(sysRoot, "class", "net", name)
	target, err := os.Readlink(filepath.Join(dir, "device", "driver"))
	if err != nil || filepath.Base(target) != NetvscDriver {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, "ifindex"))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	return err == nil && perr == nil && uint32(n) == index
}

// LinkUpdate is what one rtnetlink link message says about a link.
type LinkUpdate struct {
	Index   uint32
	Name    string // IFLA_IFNAME
	Master  uint32 // IFLA_MASTER, 0 when none
	Up      bool   // IFF_UP in ifi_flags
	Deleted bool   // RTM_DELLINK
}

type linuxLink struct {
	name   string
	master uint32
	up     bool
}

// linuxTopo is the links the Linux observer knows, learned from a dump
// and kept current from link events. It belongs to the goroutine that
// reads rtnetlink.
type linuxTopo struct {
	synthetic func(name string, index uint32) bool
	log       *slog.Logger
	links     map[uint32]linuxLink
	synth     map[uint32]string // synthetic ifindex -> name
	bad       map[uint32]string // links skipped for their name, as last logged
}

func newLinuxTopo(synthetic func(string, uint32) bool, log *slog.Logger) *linuxTopo {
	return &linuxTopo{synthetic: synthetic, log: log, links: map[uint32]linuxLink{}, synth: map[uint32]string{},
		bad: map[uint32]string{}}
}

// linkName reports whether name can stand in a label: 1 to IFNAMSIZ-1
// (15) bytes (include/uapi/linux/if.h) of valid, printable UTF-8. The
// kernel's own rule is looser (net/core/dev.c, dev_valid_name: any
// bytes but '/', ':' and white space), and client_golang panics on a
// label value that is not valid UTF-8.
func linkName(name string) bool {
	if name == "" || len(name) > 15 || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// usable reports whether u's name passes linkName, logging a link it
// skips once for each name it has.
func (t *linuxTopo) usable(u LinkUpdate) bool {
	if linkName(u.Name) {
		delete(t.bad, u.Index)
		return true
	}
	if name, ok := t.bad[u.Index]; !ok || name != u.Name {
		t.bad[u.Index] = u.Name
		t.log.Warn("skipping a link whose name is not 1-15 bytes of printable UTF-8", "ifindex", u.Index, "name", strconv.Quote(u.Name))
	}
	return false
}

// load replaces what t knows with a dump and returns every synthetic
// interface's observation, after a Gone one for each synthetic
// interface the dump no longer lists under the same ifindex and name.
func (t *linuxTopo) load(dump []LinkUpdate, at time.Time) []Observation {
	old := t.synth
	t.links, t.synth = map[uint32]linuxLink{}, map[uint32]string{}
	for _, u := range dump {
		if !u.Deleted && t.usable(u) {
			t.learn(u)
		}
	}
	var out []Observation
	for idx, name := range old {
		if t.synth[idx] != name {
			out = append(out, gone(name, at))
		}
	}
	slices.SortFunc(out, func(a, b Observation) int { return strings.Compare(a.HN, b.HN) })
	for _, idx := range t.synthIndexes() {
		out = append(out, t.observe(idx, at))
	}
	return out
}

func gone(hn string, at time.Time) Observation {
	return Observation{HN: hn, Transparent: true, At: at, Gone: true}
}

// learn records u. A synthetic interface stays one while its name
// does not change; any other link's driver is checked at each of its
// events, since hv_netvsc may be loaded, and an interface renamed,
// after the link was first seen.
// It returns the old name of a synthetic interface renamed.
func (t *linuxTopo) learn(u LinkUpdate) (renamed string) {
	prev, known := t.links[u.Index]
	t.links[u.Index] = linuxLink{name: u.Name, master: u.Master, up: u.Up}
	old, synth := t.synth[u.Index]
	if known && synth && prev.name == u.Name {
		return ""
	}
	if t.synthetic(u.Name, u.Index) {
		t.synth[u.Index] = u.Name
	} else {
		delete(t.synth, u.Index)
	}
	if synth && old != u.Name {
		return old
	}
	return ""
}

// apply records link events and returns the observations of the
// synthetic interfaces they concern: the link's old and new master and
// the link itself.
func (t *linuxTopo) apply(ups []LinkUpdate, at time.Time) []Observation {
	touched := map[uint32]bool{}
	var out []Observation
	for _, u := range ups {
		prev, known := t.links[u.Index]
		if known {
			touched[prev.master] = true
		}
		// A link whose name cannot be a label is as good as gone.
		if u.Deleted || !t.usable(u) {
			if u.Deleted {
				delete(t.bad, u.Index)
			}
			delete(t.links, u.Index)
			if name, ok := t.synth[u.Index]; ok {
				delete(t.synth, u.Index)
				delete(touched, u.Index)
				out = append(out, gone(name, at))
			}
			continue
		}
		if old := t.learn(u); old != "" {
			out = append(out, gone(old, at))
		}
		touched[u.Master] = true
		touched[u.Index] = true
	}
	for _, idx := range t.synthIndexes() {
		if touched[idx] {
			out = append(out, t.observe(idx, at))
		}
	}
	return out
}

// observe is synthetic interface idx's observation: its VF is the link
// enslaved to it (the lowest ifindex, should there ever be two), and the
// data path is on the VF while the VF is up. The VF shares the synthetic
// interface's MAC; only IFLA_MASTER ties them.
func (t *linuxTopo) observe(idx uint32, at time.Time) Observation {
	o := Observation{HN: t.synth[idx], Transparent: true, At: at}
	var vf uint32
	for i, l := range t.links {
		if l.master == idx && i != idx && (vf == 0 || i < vf) {
			vf = i
		}
	}
	if vf != 0 {
		o.VF, o.Datapath = t.links[vf].name, t.links[vf].up
	}
	return o
}

func (t *linuxTopo) synthIndexes() []uint32 {
	var idx []uint32
	for i := range t.synth {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// synthNames are the synthetic interfaces' names, for the log.
func (t *linuxTopo) synthNames() []string {
	var names []string
	for _, i := range t.synthIndexes() {
		names = append(names, t.synth[i])
	}
	return names
}
