package fbsdnettest

import (
	"strconv"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// unit returns the unit number of an interface name.
func unit(name string) string {
	_, u, _ := fbsdnet.Split(name)
	return u
}

// AddHN makes hnN exist with the sysctls of the given VF mode (if_hn.c
// registers vf_xpnt_enabled only in transparent mode, rxvf otherwise).
func (st *State) AddHN(hn string, transparent bool, inet ...string) {
	u := unit(hn)
	st.Sysctl["hw.hn.vf_transparent"] = b01(transparent)
	st.Sysctl["dev.hn."+u+".vf"] = ""
	if transparent {
		st.Sysctl["dev.hn."+u+".vf_xpnt_enabled"] = "0"
	} else {
		st.Sysctl["dev.hn."+u+".rxvf"] = ""
	}
	st.Ifaces[hn] = &Iface{Up: true, Inet: inet}
	st.setLists()
}

// AttachVF is what the kernel shows once vf attached next to hn.
func (st *State) AttachVF(hn, vf string) {
	st.Sysctl["dev.hn."+unit(hn)+".vf"] = vf
	st.Ifaces[vf] = &Iface{}
	st.setLists()
}

// DetachVF is what the kernel shows once hn's VF left: no VF, datapath
// back on hn, and the VF gone from any lagg.
func (st *State) DetachVF(hn string) {
	u := unit(hn)
	vf := st.Sysctl["dev.hn."+u+".vf"]
	st.Sysctl["dev.hn."+u+".vf"] = ""
	st.SetDatapath(hn, false)
	delete(st.Ifaces, vf)
	for _, i := range st.Ifaces {
		for j, p := range i.Ports {
			if p == vf {
				i.Ports = append(i.Ports[:j], i.Ports[j+1:]...)
				break
			}
		}
	}
	st.setLists()
}

// SetDatapath switches hn's datapath to its VF (on) or back.
func (st *State) SetDatapath(hn string, on bool) {
	u := unit(hn)
	vf := ""
	if on {
		vf = st.Sysctl["dev.hn."+u+".vf"]
	}
	if _, ok := st.Sysctl["dev.hn."+u+".vf_xpnt_enabled"]; ok {
		st.Sysctl["dev.hn."+u+".vf_xpnt_enabled"] = b01(on && vf != "")
	} else {
		st.Sysctl["dev.hn."+u+".rxvf"] = vf
	}
}

// setLists recomputes hw.hn.vflist and hw.hn.vfmap.
func (st *State) setLists() {
	var list, pairs []string
	for u := range 16 {
		vf := st.Sysctl["dev.hn."+strconv.Itoa(u)+".vf"]
		if vf != "" {
			list = append(list, vf)
			pairs = append(pairs, vf+":hn"+strconv.Itoa(u))
		}
	}
	st.Sysctl["hw.hn.vflist"] = strings.Join(list, " ")
	st.Sysctl["hw.hn.vfmap"] = strings.Join(pairs, " ")
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
