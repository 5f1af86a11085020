package main

import (
	"flag"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/vss"
)

// vssFlags are the --vss.* flags of 'hvagent run' (hvagent(8), Options
// of run).
type vssFlags struct {
	device    string
	deviceSet bool // --vss.device given: --vss.protocol leaves it alone
	protocol  vss.Protocol
	hooksDir  string
	maxFrozen time.Duration
	zfs       vss.ZFSPolicy
	include   []string
	exclude   []string
}

// defaultHooksDir is the default --vss.hooks-dir on goos: the FreeBSD
// port's configuration directory under /usr/local/etc, and /etc on
// Linux, where a distribution's configuration lives.
func defaultHooksDir(goos string) string {
	if goos == "linux" {
		return "/etc/hvagent/vss.d"
	}
	return "/usr/local/etc/hvagent/vss.d"
}

func (v *vssFlags) register(fs *flag.FlagSet) {
	// The device's default follows the protocol, whichever flag comes
	// first; an explicit --vss.device wins.
	v.protocol = vss.DefaultProtocol()
	v.device = v.protocol.DefaultDevice()
	fs.Func("vss.device", "VSS device (default the protocol's: "+vss.DefaultDevice+", alias "+vss.AliasDevice+" accepted, or "+vss.LinuxDevice+"), or a Unix socket for the socket transport",
		func(s string) error { v.device, v.deviceSet = s, true; return nil })
	fs.Func("vss.protocol", "the kernel's VSS protocol: freebsd or linux (default "+v.protocol.String()+", the running system's)",
		func(s string) error {
			p, err := vss.ParseProtocol(s)
			if err != nil {
				return err
			}
			v.protocol = p
			if !v.deviceSet {
				v.device = p.DefaultDevice()
			}
			return nil
		})
	fs.StringVar(&v.hooksDir, "vss.hooks-dir", defaultHooksDir(runtime.GOOS), "directory of freeze/thaw hook executables")
	checkedVar(fs, &v.maxFrozen, "vss.max-frozen", vss.DefaultMaxFrozen.String(), "thaw by itself if no THAW arrives within this time (at most "+vss.MaxMaxFrozen.String()+")", parseMaxFrozen)
	checkedVar(fs, &v.zfs, "vss.zfs", string(vss.ZFSSync), "ZFS policy: sync (zpool sync), fail (refuse the backup), ignore", vss.ParseZFSPolicy)
	checkedVar(fs, &v.include, "vss.include", "", "comma-separated mount points: when set, only these are ever frozen", parseMountPoints)
	checkedVar(fs, &v.exclude, "vss.exclude", "", "comma-separated mount-point globs never frozen", parseGlobs)
}

// vssConfig is the VSS subsystem's configuration from the --vss.* flags,
// with its metrics registered on reg. log is the subsystem's logger (its
// hooks log there too) and hold the daemon's log hold, which log already
// wraps.
func vssConfig(f *vssFlags, reg prometheus.Registerer, log *slog.Logger, hold *vss.LogHold) vss.Config {
	return vss.Config{
		Device:    f.device,
		Protocol:  f.protocol,
		Policy:    vssPolicy(f),
		Hooks:     &vss.Hooks{Dir: f.hooksDir},
		MaxFrozen: f.maxFrozen,
		Metrics:   vss.NewMetrics(reg),
		Log:       log,
		LogHold:   hold,
	}
}

// vssPolicy is what a FREEZE may freeze. On Linux the plan is the Linux
// daemon's (vss.Policy.Linux), and nothing is frozen without
// --vss.include unless the agent serves the kernel's own device
// (vss.Policy.RequireInclude: a simulated kernel must never freeze the
// machine it runs on).
func vssPolicy(f *vssFlags) vss.Policy {
	linux := runtime.GOOS == "linux"
	return vss.Policy{ZFS: f.zfs, Include: f.include, Exclude: f.exclude,
		RequireInclude: linux, Linux: linux}
}
