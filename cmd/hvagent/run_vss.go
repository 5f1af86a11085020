package main

import (
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hvagent/hvagent/metrics"
	"github.com/hvagent/hvagent/vss"
)

// vssFlags are the --vss.* flags of 'hvagent run' (SPEC §1).
type vssFlags struct {
	device    string
	hooksDir  string
	maxFrozen time.Duration
	zfs       string
	include   string
	exclude   string
}

func (v *vssFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&v.device, "vss.device", vss.DefaultDevice, "VSS device (alias "+vss.AliasDevice+" accepted), or a Unix socket for the socket transport")
	fs.StringVar(&v.hooksDir, "vss.hooks-dir", "/usr/local/etc/hvagent/vss.d", "directory of freeze/thaw hook executables")
	fs.DurationVar(&v.maxFrozen, "vss.max-frozen", vss.DefaultMaxFrozen, "thaw by itself if no THAW arrives within this time")
	fs.StringVar(&v.zfs, "vss.zfs", string(vss.ZFSSync), "ZFS policy: sync (zpool sync), fail (refuse the backup), ignore")
	fs.StringVar(&v.include, "vss.include", "", "comma-separated mount points: when set, only these are ever frozen")
	fs.StringVar(&v.exclude, "vss.exclude", "", "comma-separated mount-point globs never frozen")
}

// validate checks the flags once parsed.
func (v *vssFlags) validate() error {
	if _, err := vss.ParseZFSPolicy(v.zfs); err != nil {
		return fmt.Errorf("--vss.zfs: %w", err)
	}
	if v.maxFrozen <= 0 {
		return fmt.Errorf("--vss.max-frozen: %s is not a positive duration", v.maxFrozen)
	}
	for _, d := range splitList(v.include) {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("--vss.include: %q is not an absolute mount point", d)
		}
	}
	for _, g := range splitList(v.exclude) {
		if _, err := filepath.Match(g, "/"); err != nil {
			return fmt.Errorf("--vss.exclude: %q: %w", g, err)
		}
	}
	return nil
}

// newVSS builds the VSS subsystem and registers its metrics.
func newVSS(f *daemonFlags, m *metrics.Metrics, log *slog.Logger) (*vss.Subsystem, error) {
	log = log.With("subsystem", "vss")
	pol, err := vss.ParseZFSPolicy(f.vss.zfs)
	if err != nil {
		return nil, err
	}
	svc := vss.NewService(vss.Config{
		Policy:    vss.Policy{ZFS: pol, Include: splitList(f.vss.include), Exclude: splitList(f.vss.exclude)},
		Hooks:     &vss.Hooks{Dir: f.vss.hooksDir, Log: log},
		MaxFrozen: f.vss.maxFrozen,
		Metrics:   vss.NewMetrics(m.Registry),
		Log:       log,
	})
	return &vss.Subsystem{Device: f.vss.device, Service: svc}, nil
}
