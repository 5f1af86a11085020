package netinfo

import (
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// Default paths on FreeBSD.
const (
	DefaultRCConf       = "/etc/rc.conf"
	DefaultResolvConf   = "/etc/resolv.conf"
	DefaultResolvconfDB = "/var/run/resolvconf"
	DefaultRunDir       = "/var/run"
	DefaultProcDir      = "/proc" // on Linux only; see defaultProcDir
	DefaultHook         = "/usr/local/libexec/hvagent/set-ip-hook"
	DefaultHookFile     = "/var/db/hvagent/set-ip.conf"
)

// applyBudget bounds the work of one SET_IP_INFO before its reply,
// counted from the request's arrival: the kernel answers the host
// HV_E_FAIL itself 5 seconds after it passed the request on.
const applyBudget = 4 * time.Second

// liveTimeout bounds applying a SET_IP_INFO live after the reply. It
// covers dhclient(8)'s default 60-second wait for a lease.
const liveTimeout = 2 * time.Minute

// defaultProcDir is where dhclient processes are looked for on goos:
// only Linux has no pidfile convention for them. FreeBSD's procfs is
// not mounted by default and its pidfiles say it all: "-", none.
func defaultProcDir(goos string) string {
	if goos == "linux" {
		return DefaultProcDir
	}
	return "-"
}

// Config holds a Service's dependencies. The zero value works on the
// running system with the default paths.
type Config struct {
	Links  func() ([]Link, error)  // nil: SystemLinks
	Routes func() ([]Route, error) // nil: SystemRoutes

	RCConf       string // rc.conf(5), read and changed through sysrc(8)
	ResolvConf   string // resolv.conf(5), read and rewritten atomically
	ResolvconfDB string // resolvconf(8) state: per-interface DNS servers
	RunDir       string // dhclient pidfiles
	ProcDir      string // Linux procfs, for dhclient detection; "-": none
	Hook         string // run instead of applying natively, if it exists
	HookFile     string // the validated configuration handed to Hook
	HookOwner    int    // the uid Hook and its directories must belong to: 0, root

	// Linux: the KVP device speaks the Linux kernel's protocol, whose
	// SET_IP_INFO names the adapter by its VMBus GUID; the request is
	// written in the format of the network manager that owns the
	// interface (setIPInfoLinux). false: FreeBSD's rc.conf.
	Linux bool
	// Root is the Linux system's root directory, where sysfs and the
	// network managers' files are read and written; "": "/".
	Root string

	Run         Runner        // nil: ExecRunner
	Budget      time.Duration // 0: 4 s from arrival, inside the kernel's 5 s
	LiveTimeout time.Duration // 0: 2 min for the live steps after the reply
	Log         *slog.Logger
	Metrics     *Metrics // nil: no metrics
}

// Service implements kvp.IPConfig.
type Service struct {
	cfg Config
	log *slog.Logger

	sys *sysCache // what GET_IP_INFO read, for the next request

	mu      sync.Mutex
	pending []liveApply   // waiting to be applied live: one per interface, oldest first
	idle    chan struct{} // closed when the live worker stops; nil: none runs
}

// New returns a Service; empty fields of cfg get their defaults.
func New(cfg Config) *Service {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.RCConf, DefaultRCConf)
	def(&cfg.ResolvConf, DefaultResolvConf)
	def(&cfg.ResolvconfDB, DefaultResolvconfDB)
	def(&cfg.RunDir, DefaultRunDir)
	def(&cfg.ProcDir, defaultProcDir(runtime.GOOS))
	def(&cfg.Hook, DefaultHook)
	def(&cfg.HookFile, DefaultHookFile)
	sys := &sysCache{system: cfg.Links == nil && cfg.Routes == nil}
	if cfg.Links == nil {
		cfg.Links = SystemLinks
	}
	if cfg.Routes == nil {
		cfg.Routes = SystemRoutes
	}
	if cfg.Run == nil {
		cfg.Run = ExecRunner{}
	}
	if cfg.Budget <= 0 {
		cfg.Budget = applyBudget
	}
	if cfg.LiveTimeout <= 0 {
		cfg.LiveTimeout = liveTimeout
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log, sys: sys}
}

// Addrs lists every interface address; it is the kvp.AddrSource of the
// auto pool, so NetworkAddressIPv4/IPv6 and GET_IP_INFO agree.
func (s *Service) Addrs() ([]netip.Addr, error) {
	links, err := s.cfg.Links()
	if err != nil {
		return nil, err
	}
	return addrsOf(links), nil
}
