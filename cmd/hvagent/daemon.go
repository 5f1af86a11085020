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
	"strings"
	"syscall"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/metrics"
)

func version() string  { return agent.Version }
func revision() string { return agent.Revision() }

// daemonFlags are the flags of 'hvagent run' (SPEC §1).
type daemonFlags struct {
	kvpDevice  string
	kvpPoolDir string
	vss        vssFlags
	ipFlags    // netinfo paths: run_ipinfo.go
	listen     string
	webConfig  string
	disable    string
	logLevel   string
	logSyslog  bool
	foreground bool // -n: accepted for hv_kvp_daemon compatibility
	debug      bool // -d: hv_kvp_daemon's debug flag, same as --log.level=debug
	vf         vfFlags
}

// subsystemNames are valid in --disable from the first release on.
var subsystemNames = []string{"kvp", "vss", "vf"}

func parseDaemonFlags(args []string, stderr io.Writer) (*daemonFlags, error) {
	f := &daemonFlags{}
	fs := flag.NewFlagSet("hvagent run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.kvpDevice, "kvp.device", "/dev/hv_kvp_dev", "KVP device, or a Unix socket for the socket transport")
	fs.StringVar(&f.kvpPoolDir, "kvp.pool-dir", "/var/db/hyperv/pool", "directory of the pool files .kvp_pool_0 ... .kvp_pool_4")
	f.vss.register(fs)
	f.ipFlags.register(fs)
	fs.StringVar(&f.listen, "web.listen-address", ":9855", "address for /metrics; empty disables the server")
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web configuration file (TLS, basic auth)")
	fs.StringVar(&f.disable, "disable", "", "comma-separated subsystems not to run: kvp, vss, vf")
	fs.StringVar(&f.logLevel, "log.level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&f.logSyslog, "log.syslog", false, "log to syslog (facility daemon) instead of stderr")
	fs.BoolVar(&f.foreground, "n", false, "accepted for compatibility with hv_kvp_daemon; hvagent always runs in the foreground")
	fs.BoolVar(&f.debug, "d", false, "same as --log.level=debug (hv_kvp_daemon compatibility)")
	f.vf.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := f.vf.check(); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.debug {
		f.logLevel = "debug"
	}
	if err := f.vss.validate(); err != nil {
		return nil, err
	}
	for _, name := range splitList(f.disable) {
		if !slices.Contains(subsystemNames, name) {
			return nil, fmt.Errorf("--disable: unknown subsystem %q (want kvp, vss or vf)", name)
		}
	}
	return f, nil
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
		fmt.Fprintf(stderr, "hvagent run: %v\n", err)
		return exitUsage
	}
	level, err := agent.ParseLevel(f.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "hvagent run: --log.level: %v\n", err)
		return exitUsage
	}
	log, err := agent.NewLogger(stderr, level, f.logSyslog)
	if err != nil {
		fmt.Fprintf(stderr, "hvagent run: %v\n", err)
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Catch SIGHUP before the slow start-up work (FQDN lookup): its default
	// action would kill the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	m := metrics.New(agent.Version, agent.Revision())
	disabled := splitList(f.disable)
	var subs []agent.Subsystem
	if !slices.Contains(disabled, "kvp") {
		sub, closeKVP, err := newKVP(ctx, f, m, log)
		if err != nil {
			log.Error("kvp subsystem cannot start", "err", err)
			return exitError
		}
		defer closeKVP()
		subs = append(subs, sub)
	}
	if !slices.Contains(disabled, "vss") {
		sub, err := newVSS(f, m, log)
		if err != nil {
			log.Error("vss subsystem cannot start", "err", err)
			return exitError
		}
		subs = append(subs, sub)
	}
	if !slices.Contains(disabled, "vf") {
		subs = append(subs, newVF(&f.vf, m))
	}
	for _, name := range disabled {
		log.Info("subsystem disabled by --disable", "subsystem", name)
	}
	err = agent.Run(ctx, agent.Config{
		Subsystems: subs,
		Metrics:    m,
		Server:     metrics.ServerConfig{ListenAddress: f.listen, WebConfigFile: f.webConfig, Version: agent.Version},
		Log:        log,
		Hangup:     hup,
	})
	if err != nil {
		log.Error("agent failed", "err", err)
		return exitError
	}
	return exitOK
}

// newKVP opens the pool store and builds the KVP subsystem. The pools are
// opened here, once: a pool directory we cannot use is a configuration
// error, not something a restart cures.
func newKVP(ctx context.Context, f *daemonFlags, m *metrics.Metrics, log *slog.Logger) (*kvp.Subsystem, func(), error) {
	log = log.With("subsystem", "kvp")
	store, err := kvp.OpenStore(f.kvpPoolDir)
	if err != nil {
		return nil, nil, err
	}
	facts := kvp.GatherFacts(ctx, agent.Version, nil)
	ip := newIPInfo(f.ipFlags, m, log)
	svc := kvp.NewService(kvp.ServiceConfig{Store: store, Facts: facts, Metrics: m, Log: log, IP: ip, Addrs: ip.Addrs})
	m.Registry.MustRegister(kvp.NewCollector(store))
	log.Info("kvp pools opened", "dir", f.kvpPoolDir, "fqdn", facts.FQDN)
	sub := &kvp.Subsystem{Device: f.kvpDevice, Version: agent.Version, Service: svc}
	return sub, func() { _ = store.Close() }, nil
}
