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
	hooksDir  string
	maxFrozen time.Duration
	zfs       vss.ZFSPolicy
	include   []string
	exclude   []string
}

func (v *vssFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&v.device, "vss.device", vss.DefaultDevice, "VSS device (alias "+vss.AliasDevice+" accepted), or a Unix socket for the socket transport")
	fs.StringVar(&v.hooksDir, "vss.hooks-dir", "/usr/local/etc/hvagent/vss.d", "directory of freeze/thaw hook executables")
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
		Policy:    vssPolicy(f),
		Hooks:     &vss.Hooks{Dir: f.hooksDir},
		MaxFrozen: f.maxFrozen,
		Metrics:   vss.NewMetrics(reg),
		Log:       log,
		LogHold:   hold,
	}
}

// vssPolicy is what a FREEZE may freeze. On Linux nothing is frozen
// without --vss.include (vss.Policy.RequireInclude).
func vssPolicy(f *vssFlags) vss.Policy {
	return vss.Policy{ZFS: f.zfs, Include: f.include, Exclude: f.exclude,
		RequireInclude: runtime.GOOS == "linux"}
}
