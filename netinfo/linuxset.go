package netinfo

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"

	"github.com/hvagent/hvagent/kvp"
)

// setIPInfoLinux is SetIPInfo on a Linux system. The adapter is the
// host's VMBus GUID, mapped to its interface through sysfs; the request
// is then validated whole exactly as on FreeBSD. A valid one is written,
// before the reply, in the format of the manager that owns the
// interface (NetworkManager keyfile, systemd-networkd .network, or
// netplan YAML where netplan renders the interface's configuration),
// and applied with that manager's own commands after the reply; or, if
// an administrator's hook is installed, handed to it after the reply.
// With neither, the request is refused and nothing changes.
func (s *Service) setIPInfoLinux(req kvp.IPInfo) kvp.Status {
	root := s.linuxRoot()
	ifname, err := linuxAdapter(filepath.Join(root, sysClassNet), req.AdapterID)
	if err != nil {
		return s.refused(err, "adapter", req.AdapterID)
	}
	set, err := parseSettingFor(ifname, req)
	if err != nil {
		return s.rejected(err)
	}
	links, err := s.cfg.Links()
	if err != nil {
		s.log.Error("set_ip_info: list interfaces", "err", err)
		return kvp.StatusFail
	}
	link, ok := linkByName(links, ifname)
	if !ok {
		// sysfs has it; the listing may lag a moment behind.
		link = Link{Name: ifname}
	}
	before := s.stateOf(link, links)
	attrs := []any{"interface", ifname, "adapter", req.AdapterID,
		"before", describe(before.dhcp, before.link.Addrs, before.gateways, before.dns),
		"after", describe(set.DHCP, set.Addrs, set.Gateways, set.DNS)}
	var live func(context.Context) error
	if hook, herr := hookState(s.cfg.Hook, s.cfg.HookOwner); hook {
		attrs = append(attrs, "mode", "hook")
		err = herr
		live = func(ctx context.Context) error { return s.runHook(ctx, set, ifname) }
	} else {
		var m linuxManager
		var f linuxFile
		m, f, err = s.persistLinux(set, link)
		attrs = append(attrs, "mode", "native", "manager", m.String(), "file", f.path)
		cmds := applyCommands(m, f, ifname)
		live = func(ctx context.Context) error { return s.runAll(ctx, cmds) }
	}
	return s.accepted(set, attrs, live, err)
}

// refused answers a request that failed before it could be validated:
// a Rejection is counted and logged as such, anything else (sysfs
// unreadable) is HV_E_FAIL.
func (s *Service) refused(err error, attrs ...any) kvp.Status {
	var rej *Rejection
	if errors.As(err, &rej) {
		return s.rejected(rej)
	}
	s.log.Error("set_ip_info failed", append(attrs, "err", err)...)
	return kvp.StatusFail
}

// persistLinux finds the manager that owns l, renders set in its format,
// checks that its commands are on PATH and writes the file. Nothing is
// written for a request that cannot be applied.
func (s *Service) persistLinux(set Setting, l Link) (linuxManager, linuxFile, error) {
	root := s.linuxRoot()
	owner := LinuxOwnerOf(root, l)
	m, id, err := managerFor(owner, l.Name)
	if err != nil {
		return m, linuxFile{}, err
	}
	n := linuxNetOf(set)
	n.ifname = id
	f := renderLinux(m, root, n)
	if m == networkd {
		if err := checkNetworkdOrder(owner.File, f.path); err != nil {
			return m, f, err
		}
	}
	for _, argv := range applyCommands(m, f, l.Name) {
		if _, err := exec.LookPath(argv[0]); err != nil {
			return m, f, reject("unsupported", kvp.StatusFail, "%s owns %s, but %s is not on PATH: %v", m, l.Name, argv[0], err)
		}
	}
	if len(n.ignored) > 0 {
		s.log.Warn("set_ip_info: one default gateway per address family that has a static address; ignoring the rest", "ignored", addrStrings(n.ignored))
	}
	if !set.DHCP && len(set.DNS) > maxResolvers {
		s.log.Warn("set_ip_info: the resolver uses only the first DNS servers", "used", maxResolvers, "given", len(set.DNS))
	}
	return m, f, writeConfigFile(f)
}

// managerFor picks the format SET_IP_INFO writes for the interface
// ifname that owner configures, and the name the interface has in that
// format: netplan's ID where netplan renders the configuration (a change
// to the rendering would be lost at the next "netplan apply" or boot),
// else the interface name. ifupdown, or no manager, refuses the request:
// hvagent does not rewrite /etc/network/interfaces.
func managerFor(owner LinuxOwner, ifname string) (linuxManager, string, error) {
	switch {
	case owner.Netplan:
		if err := checkLinuxName(owner.NetplanID); err != nil {
			return netplan, "", reject("unsupported", kvp.StatusFail, "netplan ID %q of %s: %v", owner.NetplanID, ifname, err)
		}
		return netplan, owner.NetplanID, nil
	case owner.Manager == ManagerNetworkManager:
		return networkManager, ifname, nil
	case owner.Manager == ManagerNetworkd:
		return networkd, ifname, nil
	case owner.Manager == ManagerNone:
		return noManager, "", reject("unsupported", kvp.StatusFail, "no network manager hvagent writes for "+
			"(NetworkManager, systemd-networkd, netplan) configures %s; install a set-ip hook to apply SET_IP_INFO", ifname)
	}
	return noManager, "", reject("unsupported", kvp.StatusFail, "%s configures %s (%s); hvagent writes only NetworkManager, "+
		"systemd-networkd and netplan configuration; install a set-ip hook to apply SET_IP_INFO", owner.Manager, ifname, owner.File)
}

// checkNetworkdOrder refuses a .network file that networkd would not
// use: it applies the first file, by name across all its directories,
// whose [Match] fits, so hvagent's must sort before the one that
// configures the interface now (or be it).
func checkNetworkdOrder(current, ours string) error {
	if current == "" || path.Base(current) >= path.Base(ours) {
		return nil
	}
	return reject("unsupported", kvp.StatusFail, "systemd-networkd applies %s, which sorts before %s and would still win", current, path.Base(ours))
}

// runAll runs a manager's apply commands in order, stopping at the first
// failure: a connection is not activated that was not loaded.
func (s *Service) runAll(ctx context.Context, cmds [][]string) error {
	for _, argv := range cmds {
		if err := s.run(ctx, argv); err != nil {
			return fmt.Errorf("the configuration file is written, applying it failed: %w", err)
		}
	}
	return nil
}

// linuxSet reports whether SET_IP_INFO takes the Linux path.
func (s *Service) linuxSet() bool { return s.cfg.Linux }

// linuxRoot is the root of the Linux system SET_IP_INFO configures.
func (s *Service) linuxRoot() string {
	if s.cfg.Root == "" {
		return "/"
	}
	return s.cfg.Root
}
