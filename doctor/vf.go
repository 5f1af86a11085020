package doctor

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hvagent/hvagent/vf"
)

// checkVF reports the hn(4) mode, the base devd rules and what the
// agent decides from them, the per-interface overrides, and each hnN
// with its VF and datapath.
func checkVF(r *Report, env Env, cfg Config) {
	topo, err := vf.Discover(env.Sysctl)
	if err != nil {
		r.add(Finding{ID: "vf.hn", Status: Warn, Seen: fmt.Sprintf("cannot read the hn(4) sysctls: %v", err),
			Remedy: "check 'sysctl dev.hn hw.hn' by hand"})
		return
	}
	if len(topo.HNs) == 0 {
		r.add(Finding{ID: "vf.hn", Status: Info, Seen: "no hn(4) interfaces: no VF to follow"})
		return
	}
	checkRules(r, cfg, topo.Transparent)
	checkOverrides(r, cfg.OverrideDir, topo)
	names := make([]string, 0, len(topo.HNs))
	for name := range topo.HNs {
		names = append(names, name)
	}
	slices.SortFunc(names, compareIfNames)
	for _, name := range names {
		r.add(hnFinding(topo.HNs[name]))
	}
}

// checkRules says whether the base system's hyperv_vfattach/hyperv_vfup
// devd rules are active and what hvagent does about the VF, deciding
// as the vf subsystem does in auto and manage mode.
func checkRules(r *Report, cfg Config, transparent bool) {
	mode := "non-transparent (hw.hn.vf_transparent=0): the system brings the VF up and builds the failover lagg"
	if transparent {
		mode = "transparent (hw.hn.vf_transparent=1): hn(4) brings the VF up and switches the datapath itself"
	}
	r.add(Finding{ID: "vf.mode", Status: Info, Seen: mode})

	f := Finding{ID: "vf.base-rules", Subject: cfg.BaseRules}
	d, err := vf.BaseRulesActive(cfg.BaseRules)
	active := d.Active
	switch {
	case err != nil:
		f.Status, f.Seen = Warn, fmt.Sprintf("cannot tell whether devd runs the base VF scripts: %v; hvagent observes only", err)
		f.Remedy = "correct the devd configuration ('devd -n' parses it, 'service devd restart' applies it)"
	case !active:
		f.Status, f.Seen = OK, "the base VF scripts do not run: "+d.String()
	case cfg.VFMode == vf.ModeObserve || transparent:
		f.Status, f.Seen = Info, "harmless here, hvagent does not act on the VF: "+d.String()
	case cfg.VFMode == vf.ModeManage:
		f.Status, f.Seen = Warn, "--vf.mode=manage is held back, the base scripts manage the VF: "+d.String()
		f.Remedy = "install the package's devd rules or comment out the hyperv_vfattach and hyperv_vfup actions in /etc/devd/hyperv.conf, " +
			"run 'service devd restart' and send hvagent SIGHUP; see hvagent(8), NETWORK VF"
	default:
		f.Status, f.Seen = Info, "the base scripts manage the VF and hvagent observes: "+d.String()
	}
	r.add(f)

	var act string
	switch {
	case cfg.VFMode == vf.ModeObserve:
		act = "observes only (--vf.mode=observe)"
	case err != nil || active:
		act = "observes only (the base devd rules act, or may)"
	case transparent:
		act = "observes only: hn(4) manages the VF in transparent mode"
	default:
		act = "brings the VF up and manages the failover lagg (non-transparent mode, no base rules)"
	}
	r.add(Finding{ID: "vf.agent-mode", Status: Info, Seen: "with --vf.mode=" + string(cfg.VFMode) + " hvagent " + act})
}

// checkOverrides lists the hyperv_vfup.hnN scripts that replace the
// agent's VF_UP action for their interface.
func checkOverrides(r *Report, dir string, topo vf.Topology) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // no directory, no overrides
	}
	var found []string
	for _, e := range ents {
		if hn, ok := strings.CutPrefix(e.Name(), "hyperv_vfup."); ok && vf.IsHN(hn) {
			found = append(found, e.Name())
		}
	}
	if len(found) > 0 {
		r.add(Finding{ID: "vf.overrides", Subject: dir, Status: Info,
			Seen: "run instead of hvagent's own VF_UP action: " + strings.Join(found, ", ")})
	}
}

func hnFinding(h vf.HN) Finding {
	f := Finding{ID: "vf.hn", Subject: h.Name}
	mode := "non-transparent"
	if h.Transparent {
		mode = "transparent"
	}
	switch {
	case h.VF == "":
		f.Status, f.Seen = Info, "no VF ("+mode+"): traffic on the synthetic path; accelerated networking is off, or the host took the VF away for servicing"
	case h.Datapath:
		f.Status, f.Seen = OK, fmt.Sprintf("VF %s (%s), traffic on the VF", h.VF, mode)
	default:
		f.Status, f.Seen = Warn, fmt.Sprintf("VF %s (%s) present, but traffic stays on %s", h.VF, mode, h.Name)
		if h.Transparent {
			f.Remedy = "hn(4) switches after hw.hn.vf_xpnt_attwait seconds; if this persists, check 'ifconfig " + h.VF + "'"
		} else {
			f.Remedy = "the VF must be up in a failover lagg with " + h.Name + ": check 'ifconfig " + h.VF + "' and the lagg, or let hvagent manage it (hvagent(8), NETWORK VF)"
		}
	}
	return f
}

// compareIfNames orders hn2 before hn10.
func compareIfNames(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}
