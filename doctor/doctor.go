package doctor

import (
	"context"
	"io/fs"
	"os"
	"slices"

	"github.com/hvagent/hvagent/vf"
	"github.com/hvagent/hvagent/vss"
)

// Config is what the agent is configured with: the paths and policies
// of 'hvagent run', so the doctor checks what that daemon would use.
type Config struct {
	KVPDevice string
	VSSDevice string
	PoolDir   string
	HooksDir  string
	Policy    vss.Policy // the FREEZE policy (--vss.include, --vss.exclude, --vss.zfs)

	BaseRules   string // --vf.base-rules
	OverrideDir string // --vf.override-dir
	VFMode      vf.Mode

	ListenAddress string // --web.listen-address; "" means the server is off
	WebConfigFile string // --web.config.file; set means TLS or auth, not scraped

	Disabled []string // --disable: subsystems not checked
	// OS is the system the remedies are worded for: "freebsd" or "linux".
	OS string
}

// Env is the doctor's window on the system. Every field is required;
// SystemEnv fills them with the real thing.
type Env struct {
	// Sysctl reads kern.vm_guest and the hn(4) sysctls.
	Sysctl vf.Sysctl
	// Stat follows symlinks; Lstat does not (os.Stat, os.Lstat).
	Stat, Lstat func(string) (fs.FileInfo, error)
	// Holders lists the processes that have path open, without opening it.
	Holders func(ctx context.Context, path string) ([]Process, error)
	// CanSeeAll reports whether Holders sees every user's processes
	// (FreeBSD shows another user's open files only to root).
	CanSeeAll bool
	// Euid is the user the agent runs as, for directory ownership.
	Euid int
	// Mounts reads the mount table in mount order.
	Mounts func() ([]vss.Mount, error)
	// Get fetches a URL: the agent's /metrics.
	Get func(ctx context.Context, url string) ([]byte, error)
}

// SystemEnv is the real system: sysctl through sc, holders through
// fstat(1) on FreeBSD and /proc elsewhere, the mount table the VSS
// subsystem reads, and plain HTTP.
func SystemEnv(sc vf.Sysctl, run vf.Runner, goos string) Env {
	holders := ProcHolders("/proc")
	if goos == "freebsd" {
		holders = FstatHolders(run)
	}
	return Env{
		Sysctl:    sc,
		Stat:      os.Stat,
		Lstat:     os.Lstat,
		Holders:   holders,
		CanSeeAll: os.Geteuid() == 0,
		Euid:      os.Geteuid(),
		Mounts:    vss.ReadMounts,
		Get:       HTTPGet,
	}
}

// Run runs every check and returns the findings in a fixed order:
// hypervisor, KVP, VSS, VF, then the metrics endpoint and the agent's
// own view.
func Run(ctx context.Context, cfg Config, env Env) *Report {
	r := &Report{}
	checkHypervisor(r, env, cfg)
	if cfg.disabled("kvp") {
		r.add(Finding{ID: "kvp", Status: Info, Seen: "not checked: disabled by --disable"})
	} else {
		checkDevice(ctx, r, env, cfg, kvpDevice(cfg.KVPDevice))
		checkTrustedDir(r, env, "kvp.pool-dir", cfg.PoolDir, "created 0700 by the agent on start")
		checkPoolFiles(r, env, cfg.PoolDir)
	}
	if cfg.disabled("vss") {
		r.add(Finding{ID: "vss", Status: Info, Seen: "not checked: disabled by --disable"})
	} else {
		checkDevice(ctx, r, env, cfg, vssDevice(cfg.VSSDevice, env))
		checkTrustedDir(r, env, "vss.hooks-dir", cfg.HooksDir, "no hooks are run")
		hooks := checkHooks(r, cfg.HooksDir)
		checkPlan(r, env, cfg.Policy, hooks)
	}
	if cfg.disabled("vf") {
		r.add(Finding{ID: "vf", Status: Info, Seen: "not checked: disabled by --disable"})
	} else {
		checkVF(r, env, cfg)
	}
	checkAgent(ctx, r, env, cfg)
	return r
}

func (c Config) disabled(sub string) bool { return slices.Contains(c.Disabled, sub) }
