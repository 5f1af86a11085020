package main

import (
	"flag"
	"log/slog"
	"net/netip"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/netinfo"
)

// ipFlags are the files and directories GET_IP_INFO and SET_IP_INFO
// read and change (hvagent(8), NETWORK CONFIGURATION).
type ipFlags struct {
	rcConf     string
	resolvConf string
	runDir     string
	setIPHook  string
	hookFile   string // not a flag: the file handed to the hook, by system
	netRoot    string
}

// Linux's set-ip hook and the file handed to it, where the FHS puts a
// package's helper programs and its variable state; FreeBSD's are the
// port's, under /usr/local and /var/db (netinfo.DefaultHook,
// netinfo.DefaultHookFile). hvagent.service sets up no mount namespace,
// so /var/lib is writable to the agent.
const (
	linuxSetIPHook     = "/usr/libexec/hvagent/set-ip-hook"
	linuxSetIPHookFile = "/var/lib/hvagent/set-ip.conf"
)

// setIPHookPaths returns the default set-ip hook and the file handed to
// it on goos. They follow the system, not --kvp.protocol, as the pool
// directory does.
func setIPHookPaths(goos string) (hook, file string) {
	if goos == "linux" {
		return linuxSetIPHook, linuxSetIPHookFile
	}
	return netinfo.DefaultHook, netinfo.DefaultHookFile
}

func (f *ipFlags) register(fs *flag.FlagSet) {
	var hook string
	hook, f.hookFile = setIPHookPaths(runtime.GOOS)
	fs.StringVar(&f.rcConf, "kvp.rc-conf", netinfo.DefaultRCConf, "rc.conf read for GET_IP_INFO and changed through sysrc -f by SET_IP_INFO")
	fs.StringVar(&f.resolvConf, "kvp.resolv-conf", netinfo.DefaultResolvConf, "resolv.conf read for GET_IP_INFO and rewritten by SET_IP_INFO")
	fs.StringVar(&f.runDir, "kvp.run-dir", netinfo.DefaultRunDir, "run-time state: dhclient pidfiles and resolvconf records (resolvconf/interfaces)")
	fs.StringVar(&f.setIPHook, "kvp.set-ip-hook", hook, "program handed a SET_IP_INFO instead of applying it, if it exists")
	fs.StringVar(&f.netRoot, "kvp.net-root", "/", "with --kvp.protocol linux: the root under which sysfs and the network managers' files (/run, /etc) are read and written")
}

// ipConfig is the configuration of the KVP subsystem's GET_IP_INFO /
// SET_IP_INFO handler from the --kvp.* path flags, with its metrics
// registered on reg.
func ipConfig(f ipFlags, reg prometheus.Registerer, log *slog.Logger) netinfo.Config {
	return netinfo.Config{
		RCConf:       f.rcConf,
		ResolvConf:   f.resolvConf,
		RunDir:       f.runDir,
		ResolvconfDB: filepath.Join(f.runDir, "resolvconf"),
		Hook:         f.setIPHook,
		HookFile:     f.hookFile,
		Root:         f.netRoot,
		Log:          log,
		Metrics:      netinfo.NewMetrics(reg),
	}
}

// waitIPInfo waits up to grace for the SET_IP_INFO changes applied after
// their reply, and says so if some are abandoned.
func waitIPInfo(ip *netinfo.Service, grace time.Duration, log *slog.Logger) {
	done := make(chan struct{})
	go func() { ip.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("abandoning SET_IP_INFO changes still being applied at shutdown", "grace", grace)
	}
}

// cliAddrs is the address source of 'hvagent kvp list|get' for the auto
// pool: the same as the daemon's.
func cliAddrs() ([]netip.Addr, error) { return netinfo.New(netinfo.Config{}).Addrs() }
