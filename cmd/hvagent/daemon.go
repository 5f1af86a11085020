package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/metrics"
	"github.com/hvagent/hvagent/netinfo"
	"github.com/hvagent/hvagent/vf"
	"github.com/hvagent/hvagent/vss"
)

func version() string  { return agent.Version }
func revision() string { return agent.Revision() }

// daemonFlags are the flags of 'hvagent run' (hvagent(8), Options of run).
type daemonFlags struct {
	kvpDevice  string
	kvpProto   kvp.Protocol // --kvp.protocol; also picks kvpDevice's default
	kvpPoolDir string
	kvpMaxRecs int
	vss        vssFlags
	ipFlags    // netinfo paths: run_ipinfo.go
	listen     string
	webConfig  string
	web        metrics.ServerConfig // connection cap and timeouts
	disable    []string
	logLevel   slog.Level
	logSyslog  bool
	foreground bool // -n: accepted for hv_kvp_daemon compatibility
	debug      bool // -d: hv_kvp_daemon's debug flag, same as --log.level=debug
	vf         vfFlags
}

// subsystemNames are valid in --disable from the first release on.
var subsystemNames = []string{"kvp", "vss", "vf"}

// parseDaemonFlags parses and checks the flags of 'hvagent run'. Every
// value is checked as it is read, so a bad one fails even when --help
// follows it (the rc.d script's check). Errors are returned, not printed;
// --help prints the flags to stderr and returns flag.ErrHelp.
func parseDaemonFlags(args []string, stderr io.Writer) (*daemonFlags, error) {
	f := &daemonFlags{}
	fs := flag.NewFlagSet("hvagent run", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // runDaemon prints the error, once
	fs.StringVar(&f.kvpDevice, "kvp.device", kvp.DefaultProtocol().DefaultDevice(),
		"KVP device, or a Unix socket for the socket transport (default by --kvp.protocol: "+kvp.FreeBSDDevice+" or "+kvp.LinuxDevice+")")
	checkedVar(fs, &f.kvpProto, "kvp.protocol", kvp.DefaultProtocol().String(), "KVP device protocol: freebsd or linux (default: the running system's)", kvp.ParseProtocol)
	fs.StringVar(&f.kvpPoolDir, "kvp.pool-dir", kvp.DefaultPoolDir(), "directory of the pool files .kvp_pool_0 ... .kvp_pool_4")
	checkedVar(fs, &f.kvpMaxRecs, "kvp.max-records", strconv.Itoa(kvp.DefaultMaxRecords), "most records per pool; a host SET of a new key beyond it gets HV_E_FAIL", parseMaxRecords)
	f.vss.register(fs)
	f.ipFlags.register(fs)
	checkedVar(fs, &f.listen, "web.listen-address", ":9855", "address for /metrics; empty disables the server", parseListenAddress)
	checkedVar(fs, &f.webConfig, "web.config.file", "", "exporter-toolkit web configuration file (TLS, basic auth)", parseWebConfig)
	checkedVar(fs, &f.web.MaxConnections, "web.max-connections", strconv.Itoa(metrics.DefaultMaxConnections), "most metrics connections served at once (lowered to keep descriptors for KVP and VSS)", parseMaxConnections)
	checkedVar(fs, &f.web.ReadTimeout, "web.read-timeout", metrics.DefaultReadTimeout.String(), "longest a metrics client may take to send its request, TLS handshake included", parseWebTimeout)
	checkedVar(fs, &f.web.IdleTimeout, "web.idle-timeout", metrics.DefaultIdleTimeout.String(), "longest a keep-alive metrics connection may sit idle", parseWebTimeout)
	checkedVar(fs, &f.disable, "disable", "", "comma-separated subsystems not to run: kvp, vss, vf", parseSubsystems)
	checkedVar(fs, &f.logLevel, "log.level", "info", "log level: debug, info, warn, error", parseLevel)
	fs.BoolVar(&f.logSyslog, "log.syslog", false, "log to syslog (facility daemon) instead of stderr")
	fs.BoolVar(&f.foreground, "n", false, "accepted for compatibility with hv_kvp_daemon; hvagent always runs in the foreground")
	fs.BoolVar(&f.debug, "d", false, "same as --log.level=debug (hv_kvp_daemon compatibility)")
	f.vf.register(fs)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "usage: hvagent run [flags]")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
	}
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !flagSet(fs, "kvp.device") {
		f.kvpDevice = f.kvpProto.DefaultDevice()
	}
	if f.debug {
		f.logLevel = slog.LevelDebug
	}
	return f, nil
}

// shutdownContext is cancelled by the first SIGINT or SIGTERM. From then
// on both have their default action again, so a second one ends a
// shutdown that hangs: safe, as closing the VSS device releases a freeze
// and the freezer thaws by its own deadline.
func shutdownContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runDaemon(args []string, stderr io.Writer) int {
	f, err := parseDaemonFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return usageError(stderr, "run", err)
	}
	log, err := agent.NewLogger(stderr, f.logLevel, f.logSyslog)
	if err != nil {
		return failure(stderr, "run", err)
	}
	// While VSS holds filesystems frozen, no part of the agent logs: a
	// line bound for a frozen filesystem would block its writer.
	hold := vss.NewLogHold()
	log = hold.Wrap(log)
	ctx, stop := shutdownContext()
	defer stop()
	// Catch SIGHUP before the slow start-up work (FQDN lookup): its default
	// action would kill the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	m := metrics.New(agent.Version, agent.Revision())
	subs, closeSubs := newSubsystems(f, m.Registry, log, hold)
	defer closeSubs()
	for _, name := range f.disable {
		log.Info("subsystem disabled by --disable", "subsystem", name)
	}
	web := f.web // the cap and timeouts
	web.ListenAddress, web.WebConfigFile, web.Version = f.listen, f.webConfig, agent.Version
	agent.Run(ctx, agent.Config{
		Subsystems: subs,
		Metrics:    m,
		Server:     web,
		Log:        log,
		Hangup:     hup,
	})
	return exitOK
}

// newSubsystems builds the subsystems --disable leaves, each from its
// flags, with its metrics registered on reg. log is the daemon's logger
// and hold its VSS log hold, which log already wraps. After agent.Run,
// closeSubs lets accepted SET_IP_INFO changes finish and closes the KVP
// pools.
func newSubsystems(f *daemonFlags, reg prometheus.Registerer, log *slog.Logger, hold *vss.LogHold) (subs []agent.Subsystem, closeSubs func()) {
	closeSubs = func() {}
	if !slices.Contains(f.disable, "kvp") {
		klog := log.With("subsystem", "kvp")
		icfg := ipConfig(f.ipFlags, reg, klog)
		// The Linux kernel names SET_IP_INFO's adapter by VMBus GUID,
		// FreeBSD's by hn(4) name: the protocol picks the system whose
		// network configuration GET/SET_IP_INFO use.
		icfg.Linux = f.kvpProto == kvp.Linux
		ip := netinfo.New(icfg)
		sub := kvp.New(kvpConfig(f, ip, reg))
		closeSubs = func() {
			waitIPInfo(ip, agent.ShutdownGrace, klog)
			sub.Close()
		}
		subs = append(subs, sub)
	}
	if !slices.Contains(f.disable, "vss") {
		subs = append(subs, vss.New(vssConfig(&f.vss, reg, log.With("subsystem", "vss"), hold)))
	}
	if !slices.Contains(f.disable, "vf") {
		subs = append(subs, vf.New(vfConfig(&f.vf, reg)))
	}
	return subs, closeSubs
}
