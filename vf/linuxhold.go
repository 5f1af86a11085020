package vf

// A failed switch to the VF leaves the traffic on the synthetic path
// while the VF is up and enslaved, which is all rtnetlink shows
// (drivers/net/hyperv/netvsc_drv.c, netvsc_vf_changed: when
// netvsc_switch_datapath fails it prints "Data path failed to switch to
// VF" and returns without data_path_is_vf set). The kernel tries again
// at the VF's next up, down or change event whenever data_path_is_vf
// and the VF's state differ, and prints a line for each try: "Data path
// switched to VF" or another failure. So the kernel log, not the VF's
// link events, ends the hold: the two are read by two goroutines, and a
// link event applied after the failure line may be older than it.
//
// The hold ends with a "Data path switched to VF" or "VF unregistering"
// line, when the synthetic interface goes, when it has another VF, and
// when the kernel log is no longer read.

// observeLinux applies rtnetlink's observations, the data path held off
// the VF where its switch failed. Runs on the loop.
func (s *Subsystem) observeLinux(obs []Observation) {
	if s.linuxRaw == nil {
		s.linuxRaw = map[string]Observation{}
	}
	for i, o := range obs {
		if o.Gone {
			delete(s.linuxRaw, o.HN)
			delete(s.switchFailed, o.HN)
			continue
		}
		s.linuxRaw[o.HN] = o
		obs[i] = s.heldBack(o)
	}
	s.observe(obs, nil)
}

// heldBack is o with the data path off the VF if its switch failed.
func (s *Subsystem) heldBack(o Observation) Observation {
	vf, held := s.switchFailed[o.HN]
	switch {
	case !held:
	case o.VF != "" && o.VF != vf: // another VF
		delete(s.switchFailed, o.HN)
	default:
		o.Datapath = false
	}
	return o
}

// switchResult records what a kernel line says of hn's data path and
// observes hn again if that changes. Runs on the loop.
func (s *Subsystem) switchResult(e kernelEvent) {
	switch e.Event {
	case KernelSwitchToFailed:
		if s.switchFailed == nil {
			s.switchFailed = map[string]string{}
		}
		s.switchFailed[e.HN] = e.VF
	case KernelSwitchedToVF, KernelVFUnregistering:
		if _, held := s.switchFailed[e.HN]; !held {
			return
		}
		delete(s.switchFailed, e.HN)
	default:
		return
	}
	s.reobserve(e.HN)
}

// releaseHolds ends every hold: the kernel log that would end them is
// not read any more. Runs on the loop.
func (s *Subsystem) releaseHolds() {
	for hn := range s.switchFailed {
		delete(s.switchFailed, hn)
		s.reobserve(hn)
	}
}

func (s *Subsystem) reobserve(hn string) {
	o, ok := s.linuxRaw[hn]
	if !ok {
		return
	}
	o.At = s.cfg.Now()
	s.observe([]Observation{s.heldBack(o)}, nil)
}
