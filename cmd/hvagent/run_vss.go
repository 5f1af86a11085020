package main

import (
	"flag"
	"log/slog"
	"runtime"
	"time"

	"github.com/hvagent/hvagent/metrics"
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

// newVSS builds the VSS subsystem and registers its metrics.
// hold is the daemon's log hold, which its root logger already wraps.
func newVSS(f *daemonFlags, m *metrics.Metrics, log *slog.Logger, hold *vss.LogHold) *vss.Subsystem {
	log = log.With("subsystem", "vss")
	svc := vss.NewService(vss.Config{
		Policy: vss.Policy{ZFS: f.vss.zfs, Include: f.vss.include, Exclude: f.vss.exclude,
			RequireInclude: runtime.GOOS == "linux"},
		Hooks:     &vss.Hooks{Dir: f.vss.hooksDir, Log: log},
		MaxFrozen: f.vss.maxFrozen,
		Metrics:   vss.NewMetrics(m.Registry),
		Log:       log,
		LogHold:   hold,
	})
	return &vss.Subsystem{Device: f.vss.device, Service: svc}
}
