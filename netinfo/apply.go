package netinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/hvagent/hvagent/kvp"
)

// SetIPInfo implements kvp.IPConfig. The request is validated whole
// before anything runs; an invalid one changes nothing. A valid one is
// handed to the administrator's hook if installed, else persisted in
// rc.conf with sysrc(8), resolv.conf is rewritten, and the change is
// applied live with ifconfig(8), route(8) and service(8). One audit line
// records the state before and the configuration after.
func (s *Service) SetIPInfo(req kvp.IPInfo) kvp.Status {
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
	target := hn
	if lagg, ok := laggOf(links, hn.Name); ok {
		target, _ = linkByName(links, lagg)
	}
	before := s.stateOf(target, links)
	after := describe(set.DHCP, set.Addrs, set.Gateways, set.DNS)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Budget)
	defer cancel()

	mode := "native"
	if hook, herr := hookState(s.cfg.Hook); hook {
		mode = "hook"
		err = herr
		if err == nil {
			err = s.runHook(ctx, set, target.Name)
		}
	} else {
		err = s.applyNative(ctx, set, before)
	}
	var rej *Rejection
	if errors.As(err, &rej) {
		return s.rejected(rej)
	}
	attrs := []any{"interface", set.Interface, "target", target.Name, "mode", mode,
		"before", describe(before.dhcp, before.link.Addrs, before.gateways, before.dns), "after", after}
	if err != nil {
		s.log.Error("set_ip_info failed", append(attrs, "err", err)...)
		return kvp.StatusFail
	}
	s.log.Info("set_ip_info applied", attrs...)
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

func (s *Service) runHook(ctx context.Context, set Setting, target string) error {
	if err := writeHookFile(s.cfg.HookFile, hookConfig(set, target)); err != nil {
		return fmt.Errorf("write %s: %w", s.cfg.HookFile, err)
	}
	out, err := s.cfg.Run(ctx, []string{s.cfg.Hook, s.cfg.HookFile})
	if err != nil {
		return fmt.Errorf("%s: %w: %s", s.cfg.Hook, err, trimOutput(out))
	}
	return nil
}

// applyNative reads what the plan depends on, checks that every command
// exists, then persists, rewrites resolv.conf and applies live.
func (s *Service) applyNative(ctx context.Context, set Setting, before state) error {
	cur := current{target: before.link, rc: map[string]string{}}
	if b, err := os.ReadFile(s.cfg.RCConf); err == nil {
		cur.rc = parseRCConf(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", s.cfg.RCConf, err)
	}
	if b, err := os.ReadFile(s.cfg.ResolvConf); err == nil {
		cur.resolv = b
	}
	cur.routes, _ = s.cfg.Routes()
	cur.dhclient = dhclientRunning(s.cfg.RunDir, s.cfg.ProcDir, cur.target.Name)
	p := makePlan(set, cur, s.cfg.RCConf)
	for _, argv := range append(append([][]string{}, p.persist...), p.live...) {
		if _, err := exec.LookPath(argv[0]); err != nil {
			return reject("unsupported", kvp.StatusFail, "%s is not on PATH: %v", argv[0], err)
		}
	}
	if len(p.ignored) > 0 {
		s.log.Warn("set_ip_info: one default gateway per address family; ignoring the rest", "ignored", addrStrings(p.ignored))
	}
	for _, argv := range p.persist {
		if err := s.run(ctx, argv); err != nil {
			return err
		}
	}
	if p.resolv != nil {
		if err := writeAtomic(s.cfg.ResolvConf, p.resolv, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", s.cfg.ResolvConf, err)
		}
	}
	for _, argv := range p.live {
		if err := s.run(ctx, argv); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) run(ctx context.Context, argv []string) error {
	out, err := s.cfg.Run(ctx, argv)
	s.log.Debug("set_ip_info: ran", "argv", argv, "err", err)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, trimOutput(out))
	}
	return nil
}

func trimOutput(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
