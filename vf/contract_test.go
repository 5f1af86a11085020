package vf

import (
	"slices"
	"testing"
	"time"
)

// The FreeBSD facts the vf package relies on, each with the source file
// and symbol it comes from: sysctl names, devd's socket and record
// format, the paths and limits of the base scripts it replaces.

// recSysctl answers from a map and records every name asked for.
type recSysctl struct {
	vals  map[string]string
	asked []string
}

func (r *recSysctl) Sysctl(name string) (string, error) {
	r.asked = append(r.asked, name)
	if v, ok := r.vals[name]; ok {
		return v, nil
	}
	return "", ErrNoSysctl
}

// TestContractSysctlNames: every sysctl the agent reads is one hn(4)
// registers, spelt as if_hn.c spells it.
func TestContractSysctlNames(t *testing.T) {
	kernel := map[string]bool{
		"hw.hn.vf_transparent":     true, // sys/dev/hyperv/netvsc/if_hn.c, SYSCTL_INT(_hw_hn, OID_AUTO, vf_transparent)
		"hw.hn.vflist":             true, // sys/dev/hyperv/netvsc/if_hn.c, SYSCTL_PROC(_hw_hn, OID_AUTO, vflist), hn_vflist_sysctl
		"hw.hn.vfmap":              true, // sys/dev/hyperv/netvsc/if_hn.c, SYSCTL_PROC(_hw_hn, OID_AUTO, vfmap), hn_vfmap_sysctl
		"dev.hn.0.vf":              true, // sys/dev/hyperv/netvsc/if_hn.c, hn_attach: "vf", hn_vf_sysctl
		"dev.hn.0.rxvf":            true, // sys/dev/hyperv/netvsc/if_hn.c, hn_attach (non-transparent): "rxvf", hn_rxvf_sysctl
		"dev.hn.0.vf_xpnt_enabled": true, // sys/dev/hyperv/netvsc/if_hn.c, hn_attach (transparent): "vf_xpnt_enabled", hn_xpnt_vf_enabled_sysctl
	}
	for _, transparent := range []string{"0", "1"} {
		sc := &recSysctl{vals: map[string]string{
			"hw.hn.vf_transparent": transparent,
			"hw.hn.vflist":         "mce0",
			"hw.hn.vfmap":          "mce0:hn0",
			"dev.hn.0.vf":          "mce0",
		}}
		if transparent == "1" {
			sc.vals["dev.hn.0.vf_xpnt_enabled"] = "1"
		} else {
			sc.vals["dev.hn.0.rxvf"] = "mce0"
		}
		if _, err := Discover(sc); err != nil {
			t.Fatal(err)
		}
		for _, name := range sc.asked {
			// Units other than 0 are probed too; check them as unit 0.
			if u, ok := hnSysctlUnit0(name); ok {
				name = u
			}
			if !kernel[name] {
				t.Errorf("vf_transparent=%s: reads sysctl %q, which hn(4) does not register", transparent, name)
			}
		}
		for name := range sc.vals {
			if !slices.Contains(sc.asked, name) {
				t.Errorf("vf_transparent=%s: never reads %q", transparent, name)
			}
		}
	}
}

// hnSysctlUnit0 maps dev.hn.N.x to dev.hn.0.x.
func hnSysctlUnit0(name string) (string, bool) {
	const p = "dev.hn."
	if len(name) <= len(p) || name[:len(p)] != p {
		return "", false
	}
	rest := name[len(p):]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i == len(rest) || rest[i] != '.' {
		return "", false
	}
	return p + "0" + rest[i:], true
}

func TestContractValues(t *testing.T) {
	strs := []struct {
		name, got, want string
	}{
		// sbin/devd/devd.cc, SEQPACKETPIPE_COMPAT
		{"devd socket", DefaultDevdSocket, "/var/run/devd.seqpacket.pipe"},
		// DefaultBaseRules is being changed by its owner (vf/rules.go,
		// uncommitted at the time of writing) and is pinned there.
		// contrib/hyperv/tools/scripts/hyperv_vfup: "if [ -f /usr/libexec/hyperv/hyperv_vfup.$1 ]"
		{"override dir", DefaultOverrideDir, "/usr/libexec/hyperv"},
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
		}
	}
	nums := []struct {
		name      string
		got, want int64
	}{
		// contrib/hyperv/tools/scripts/hyperv_vfattach: hyperv_vf_delay below 2 is raised to 2 seconds
		// (sys/dev/hyperv/netvsc/if_hn.c, HN_XPNT_VF_ATTWAIT_MIN is the same floor for transparent mode)
		{"minimum VF delay", int64(minVFDelay / time.Second), 2},
	}
	for _, n := range nums {
		if n.got != n.want {
			t.Errorf("%s = %d, want %d", n.name, n.got, n.want)
		}
	}
}

// TestContractDevdRecords parses the records the kernel's devctl_notify
// writes ("!system=S subsystem=SS type=T", sys/kern/kern_devctl.c,
// devctl_notify) for the events the agent follows, as devd relays them:
// one record per SOCK_SEQPACKET packet, newline-terminated
// (sbin/devd/devd.cc, notify_clients).
func TestContractDevdRecords(t *testing.T) {
	tests := []struct {
		line                string
		system, subsys, typ string
	}{
		// sys/net/if_ethersubr.c, ether_ifattach: devctl_notify("ETHERNET", ifp->if_xname, "IFATTACH", NULL)
		{"!system=ETHERNET subsystem=mce0 type=IFATTACH\n", "ETHERNET", "mce0", "IFATTACH"},
		// sys/net/if.c, if_attach_internal: devctl_notify("IFNET", ifp->if_xname, "ATTACH", NULL)
		{"!system=IFNET subsystem=mce0 type=ATTACH\n", "IFNET", "mce0", "ATTACH"},
		// sys/net/if.c, if_detach_internal: devctl_notify("IFNET", ifp->if_xname, "DETACH", NULL)
		{"!system=IFNET subsystem=mce0 type=DETACH\n", "IFNET", "mce0", "DETACH"},
		// sys/net/if.c, do_link_state_change: "LINK_UP" / "LINK_DOWN"
		{"!system=IFNET subsystem=hn0 type=LINK_UP\n", "IFNET", "hn0", "LINK_UP"},
		{"!system=IFNET subsystem=hn0 type=LINK_DOWN\n", "IFNET", "hn0", "LINK_DOWN"},
		// sys/dev/hyperv/netvsc/if_hn.c, hn_rxvf_change: devctl_notify("HYPERV_NIC_VF", hn_ifp->if_xname, rxvf ? "VF_UP" : "VF_DOWN", NULL)
		{"!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP\n", "HYPERV_NIC_VF", "hn0", "VF_UP"},
		{"!system=HYPERV_NIC_VF subsystem=hn0 type=VF_DOWN\n", "HYPERV_NIC_VF", "hn0", "VF_DOWN"},
	}
	for _, tt := range tests {
		e, err := ParseEvent([]byte(tt.line))
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if e.System != tt.system || e.Subsystem != tt.subsys || e.Type != tt.typ || e.Data != nil {
			t.Errorf("%q: %+v, want system %s subsystem %s type %s and no data", tt.line, e, tt.system, tt.subsys, tt.typ)
		}
	}
}
