package main

import (
	"flag"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/vf"
)

// vfFlags are the vf subsystem's flags of 'hvagent run' (hvagent(8),
// Options of run).
type vfFlags struct {
	protocol    vf.Protocol
	kmsg        string
	sysRoot     string
	devdSocket  string
	mode        vf.Mode
	baseRules   string
	overrideDir string
	sysctlCmd   bool
}

func (f *vfFlags) register(fs *flag.FlagSet) {
	checkedVar(fs, &f.protocol, "vf.protocol", vf.DefaultProtocol().String(),
		"the kernel whose VF is followed: freebsd (hn(4) through devd) or linux (hv_netvsc through rtnetlink, observe only) (default: the running system's)", vf.ParseProtocol)
	fs.StringVar(&f.kmsg, "vf.kmsg", vf.DefaultKmsg, "with --vf.protocol linux: the kernel log read for hv_netvsc's data path switches and their failures (empty: none)")
	fs.StringVar(&f.sysRoot, "vf.sys-root", vf.DefaultSysRoot, "with --vf.protocol linux: the sysfs root where the hv_netvsc check reads class/net/NAME/device/driver (for tests and the demo)")
	fs.StringVar(&f.devdSocket, "vf.devd-socket", vf.DefaultDevdSocket, "devd's SOCK_SEQPACKET event socket")
	checkedVar(fs, &f.mode, "vf.mode", string(vf.ModeAuto), "VF handling: auto (manage in non-transparent mode unless the base devd rules are active), observe, manage", vf.ParseMode)
	fs.StringVar(&f.baseRules, "vf.base-rules", vf.DefaultBaseRules, "devd file whose active hyperv_vfattach/hyperv_vfup rules keep hvagent from acting")
	fs.StringVar(&f.overrideDir, "vf.override-dir", vf.DefaultOverrideDir, "directory of per-interface hyperv_vfup.hnN override scripts")
	fs.BoolVar(&f.sysctlCmd, "vf.sysctl-command", false, "read sysctls by running 'sysctl -n' through PATH instead of sysctl(3), as simulated kernels need (always so on systems other than FreeBSD)")
}

// vfConfig is the vf subsystem's configuration from its flags, with its
// metrics registered on reg.
func vfConfig(f *vfFlags, reg prometheus.Registerer) vf.Config {
	var sc vf.Sysctl
	if f.sysctlCmd {
		sc = vf.CommandSysctl{Runner: vf.ExecRunner{}}
	}
	m := vf.NewMetrics
	if f.protocol == vf.ProtocolLinux {
		m = vf.NewLinuxMetrics
	}
	return vf.Config{
		Protocol:    f.protocol,
		Kmsg:        f.kmsg,
		SysRoot:     f.sysRoot,
		Sysctl:      sc,
		DevdSocket:  f.devdSocket,
		Mode:        f.mode,
		BaseRules:   f.baseRules,
		OverrideDir: f.overrideDir,
		Metrics:     m(reg),
	}
}
