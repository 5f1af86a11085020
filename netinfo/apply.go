package netinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/hvagent/hvagent/internal/fbsdnet"
	"github.com/hvagent/hvagent/kvp"
)

// SetIPInfo implements kvp.IPConfig. The request is validated whole
// before anything runs; an invalid one changes nothing. A valid one is
// persisted before the reply (rc.conf with sysrc(8), resolv.conf)
// unless an administrator's hook is installed, which then gets it after
// the reply. The reply goes out within the kernel's deadline; the
// change is then applied live off the request path (see applyLive).
// One audit line records the state before and the configuration after.
// On Linux the adapter is a VMBus GUID and the configuration is the
// network manager's (setIPInfoLinux).
func (s *Service) SetIPInfo(req kvp.IPInfo) kvp.Status {
	if s.linuxSet() {
		return s.setIPInfoLinux(req)
	}
	// The kernel answers the host itself 5 s after it passed the request
	// on: the budget counts from the request's arrival, which is now.
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Budget)
	defer cancel()
	set, err := ParseSetting(req)
	if err != nil {
		return s.rejected(err)
	}
	links, err := s.cfg.Links()
	if err != nil {
		s.log.Error("set_ip_info: list interfaces", "err", err)
		return kvp.StatusFail
	}
	hn, ok := linkByName(links, set.Interface)
	if !ok {
		return s.rejected(reject("adapter_not_found", kvp.StatusGUIDNotFound, "no interface %s", set.Interface))
	}
	target := targetOf(links, hn)
	before := s.stateOf(target, links)
	hook, herr := hookState(s.cfg.Hook, s.cfg.HookOwner)
	mode := "native"
	if hook {
		mode = "hook"
	}
	attrs := []any{"interface", set.Interface, "target", target.Name, "mode", mode,
		"before", describe(before.dhcp, before.link.Addrs, before.gateways, before.dns),
		"after", describe(set.DHCP, set.Addrs, set.Gateways, set.DNS)}

	var live func(context.Context) error
	if hook {
		// The file is written when the hook's turn comes: a later
		// request must not overwrite it under an earlier one's hook.
		err = herr
		live = func(ctx context.Context) error { return s.runHook(ctx, set, target.Name) }
	} else {
		var wasDHCP bool
		wasDHCP, err = s.persist(ctx, set, before)
		live = func(ctx context.Context) error { return s.applyLive(ctx, set, wasDHCP) }
	}
	return s.accepted(set, attrs, live, err)
}

// accepted answers a validated request: err is what persisting it (or
// checking the hook) said, live what applies it after the reply.
func (s *Service) accepted(set Setting, attrs []any, live func(context.Context) error, err error) kvp.Status {
	var rej *Rejection
	if errors.As(err, &rej) {
		return s.rejected(rej)
	}
	if err != nil {
		s.log.Error("set_ip_info failed", append(attrs, "err", err)...)
		return kvp.StatusFail
	}
	s.log.Info("set_ip_info accepted; applying it live", attrs...)
	s.background(set.Interface, attrs, live)
	return kvp.StatusOK
}

func (s *Service) rejected(err error) kvp.Status {
	var rej *Rejection
	if !errors.As(err, &rej) {
		rej = &Rejection{Reason: "address", Status: kvp.StatusInvalidArg, Err: err}
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Rejected.WithLabelValues(rej.Reason).Inc()
	}
	s.log.Warn("set_ip_info rejected; nothing changed", "reason", rej.Reason, "status", rej.Status.String(), "err", rej.Err)
	return rej.Status
}

// targetOf is the interface configured live: laggN when hnN is its
// port, else hnN.
func targetOf(links []Link, hn Link) Link {
	if lagg, ok := laggOf(links, hn.Name); ok {
		if l, ok := linkByName(links, lagg); ok {
			return l
		}
	}
	return hn
}

func (s *Service) runHook(ctx context.Context, set Setting, target string) error {
	if err := writeHookFile(s.cfg.HookFile, hookConfig(set, target)); err != nil {
		return fmt.Errorf("write %s: %w", s.cfg.HookFile, err)
	}
	return s.run(ctx, []string{s.cfg.Hook, s.cfg.HookFile})
}

// current reads what a plan depends on for target, the interface live
// steps address, and hn, whose rc.conf variables are changed.
func (s *Service) current(target Link, hn string) (current, error) {
	cur := current{target: target, rc: fbsdnet.Vars{}}
	if b, err := os.ReadFile(s.cfg.RCConf); err == nil {
		cur.rc = fbsdnet.Parse(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return cur, fmt.Errorf("read %s: %w", s.cfg.RCConf, err)
	}
	if b, err := os.ReadFile(s.cfg.ResolvConf); err == nil {
		cur.resolv = b
	}
	cur.routes, _ = s.cfg.Routes()
	cur.dhclient = dhclientRunning(s.cfg.RunDir, s.cfg.ProcDir, target.Name)
	cur.resolvconf, cur.records = resolvconfRecords(s.cfg.ResolvconfDB, target.Name, hn)
	return cur, nil
}

// persist checks that every command of the plan exists, then changes
// rc.conf and resolv.conf: what the system boots with. wasDHCP is
// whether rc.conf asked for DHCP on the interface before.
func (s *Service) persist(ctx context.Context, set Setting, before state) (wasDHCP bool, err error) {
	cur, err := s.current(before.link, set.Interface)
	if err != nil {
		return false, err
	}
	wasDHCP = cur.rc.IfConfig(set.Interface).DHCP()
	return wasDHCP, s.persistPlan(ctx, set, cur)
}

func (s *Service) persistPlan(ctx context.Context, set Setting, cur current) error {
	p := makePlan(set, cur, s.cfg.RCConf)
	for _, argv := range slices.Concat(p.persist, p.dns, p.live) {
		if _, err := exec.LookPath(argv[0]); err != nil {
			return reject("unsupported", kvp.StatusFail, "%s is not on PATH: %v", argv[0], err)
		}
	}
	if !set.DHCP && len(set.DNS) > maxResolvers {
		s.log.Warn("set_ip_info: the resolver uses only the first DNS servers", "used", maxResolvers, "given", len(set.DNS))
	}
	if len(p.ignored) > 0 {
		s.log.Warn("set_ip_info: one default gateway per address family; ignoring the rest", "ignored", addrStrings(p.ignored))
	}
	for _, argv := range p.persist {
		if err := s.run(ctx, argv); err != nil {
			return err
		}
	}
	for _, argv := range p.dns {
		var stdin []byte
		if argv[1] == "-a" {
			stdin = p.record
		}
		if err := s.runIn(ctx, argv, stdin); err != nil {
			return fmt.Errorf("rc.conf already changed: %w", err)
		}
	}
	if p.resolv != nil {
		if err := writeThroughLink(s.cfg.ResolvConf, p.resolv, 0o644); err != nil {
			return fmt.Errorf("write %s (rc.conf already changed): %w", s.cfg.ResolvConf, err)
		}
	}
	return nil
}
