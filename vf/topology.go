package vf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// ValidIfName reports whether s looks like a FreeBSD interface name the
// agent may use as an argument and a label (fbsdnet.ValidName: hn0,
// mce1, mlxen0, mana0, lagg0).
func ValidIfName(s string) bool { return fbsdnet.ValidName(s) }

// IsHN reports whether name is a synthetic hn(4) interface: "hn" and a
// unit number, nothing else, since its sysctls are found by that unit.
func IsHN(name string) bool { return fbsdnet.IsHN(name) }

// HN is what the sysctls say about one hnN (dev.hn.N.vf,
// dev.hn.N.vf_xpnt_enabled, dev.hn.N.rxvf: sys/dev/hyperv/netvsc/if_hn.c).
type HN struct {
	Name string // hn0
	// VF is dev.hn.N.vf: the associated VF's name, or "".
	VF string
	// Datapath: transparent mode, dev.hn.N.vf_xpnt_enabled is 1;
	// non-transparent mode, dev.hn.N.rxvf names the VF.
	Datapath bool
	// Transparent is true when dev.hn.N.vf_xpnt_enabled exists (if_hn.c
	// registers it only in transparent mode, rxvf only otherwise).
	Transparent bool
}

// Topology is a snapshot of the hn/VF sysctls.
type Topology struct {
	Transparent bool              // hw.hn.vf_transparent
	VFList      []string          // hw.hn.vflist
	VFMap       map[string]string // hw.hn.vfmap: VF name -> hn name
	HNs         map[string]HN     // by hn name
	modeKnown   bool              // hw.hn.vf_transparent exists
}

// HNOf returns the hn a VF belongs to, from vfmap.
func (t Topology) HNOf(vf string) (string, bool) {
	hn, ok := t.VFMap[vf]
	return hn, ok
}

// Sysctl reads one sysctl as a string. A name that does not exist
// returns an error wrapping ErrNoSysctl.
type Sysctl interface {
	Sysctl(name string) (string, error)
}

// ErrNoSysctl reports a sysctl that does not exist (no hn(4), or a
// mode that does not register it).
var ErrNoSysctl = errors.New("vf: no such sysctl")

// probeUnits is how many hn units discovery probes beyond those vfmap
// names: Hyper-V gives a VM at most 8 synthetic NICs (Azure's limit too).
const probeUnits = 8

// Discover reads the topology. extra names hn interfaces to read besides
// units 0..7 and those in vfmap. Only hard failures (not missing
// sysctls) are returned.
func Discover(sc Sysctl, extra ...string) (Topology, error) {
	t, err := discoverMap(sc)
	if err != nil {
		return t, err
	}
	names := map[string]bool{}
	for i := range probeUnits {
		names["hn"+strconv.Itoa(i)] = true
	}
	for _, hn := range t.VFMap {
		names[hn] = true
	}
	for _, hn := range extra {
		if IsHN(hn) {
			names[hn] = true
		}
	}
	for name := range names {
		h, ok, err := ReadHN(sc, name)
		if err != nil {
			return t, err
		}
		if ok {
			t.HNs[name] = h
		}
	}
	if !t.modeKnown && len(t.HNs) > 0 {
		// No hw.hn.vf_transparent (a kernel older than transparent VF
		// support): the per-hn sysctls tell the mode.
		t.Transparent = false
		for _, h := range t.HNs {
			t.Transparent = t.Transparent || h.Transparent
		}
	}
	return t, nil
}

// discoverMap reads the global sysctls: mode, vflist and vfmap.
func discoverMap(sc Sysctl) (Topology, error) {
	t := Topology{VFMap: map[string]string{}, HNs: map[string]HN{}}
	v, err := readOpt(sc, "hw.hn.vf_transparent")
	if err != nil {
		return t, err
	}
	t.modeKnown = v != ""
	t.Transparent = strings.TrimSpace(v) != "0" // if_hn.c's default when unknown
	if v, err = readOpt(sc, "hw.hn.vflist"); err != nil {
		return t, err
	}
	for _, name := range strings.Fields(v) {
		if ValidIfName(name) {
			t.VFList = append(t.VFList, name)
		}
	}
	if v, err = readOpt(sc, "hw.hn.vfmap"); err != nil {
		return t, err
	}
	for _, pair := range strings.Fields(v) {
		vf, hn, ok := strings.Cut(pair, ":")
		if ok && ValidIfName(vf) && IsHN(hn) {
			t.VFMap[vf] = hn
		}
	}
	return t, nil
}

// ReadHN reads the sysctls of one hn; ok is false if it does not exist.
func ReadHN(sc Sysctl, name string) (HN, bool, error) {
	unit, ok := fbsdnet.Unit(name)
	if !ok {
		return HN{}, false, fmt.Errorf("vf: %q is not an interface name", name)
	}
	prefix := "dev.hn." + strconv.Itoa(unit) + "."
	vf, err := sc.Sysctl(prefix + "vf")
	if errors.Is(err, ErrNoSysctl) {
		return HN{}, false, nil
	}
	if err != nil {
		return HN{}, false, err
	}
	h := HN{Name: name}
	if vf = strings.TrimSpace(vf); ValidIfName(vf) {
		h.VF = vf
	}
	xpnt, err := sc.Sysctl(prefix + "vf_xpnt_enabled")
	switch {
	case err == nil:
		h.Transparent = true
		h.Datapath = h.VF != "" && strings.TrimSpace(xpnt) == "1"
		return h, true, nil
	case !errors.Is(err, ErrNoSysctl):
		return HN{}, false, err
	}
	rxvf, err := readOpt(sc, prefix+"rxvf")
	if err != nil {
		return HN{}, false, err
	}
	h.Datapath = h.VF != "" && strings.TrimSpace(rxvf) != ""
	return h, true, nil
}

// readOpt reads a sysctl that may be missing ("" then).
func readOpt(sc Sysctl, name string) (string, error) {
	v, err := sc.Sysctl(name)
	if errors.Is(err, ErrNoSysctl) {
		return "", nil
	}
	return v, err
}
