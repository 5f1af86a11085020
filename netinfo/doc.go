// Package netinfo answers the host's GET_IP_INFO and SET_IP_INFO KVP
// requests (struct hv_kvp_ipaddr_value in
// sys/dev/hyperv/utilities/hv_kvp.h, and Linux's
// include/uapi/linux/hyperv.h; hvagent(8), NETWORK CONFIGURATION): it
// reports an adapter's addresses, subnets, default gateways, DNS servers
// and DHCP state, and applies a static or DHCP configuration the host
// pushes after a Hyper-V Replica failover. Nothing the host sends ever
// reaches a shell: requests are parsed into net/netip values, and
// commands run as argument vectors found on PATH.
//
// Two systems are served, chosen by Config.Linux (the KVP device speaks
// the Linux kernel's protocol), not by the system the code is built for,
// so both are tested on Linux. On both, GET_IP_INFO names its adapter by
// MAC, and the interface that carries the addresses is answered, never a
// VF enslaved to it with the same MAC (match.go).
//
//   - FreeBSD: GET_IP_INFO reads the interfaces (system.go), the default
//     routes (routes_freebsd.go: the routing socket), rc.conf, resolvconf
//     records, resolv.conf and dhclient pidfiles (getinfo.go, dhcp.go,
//     resolvconf*.go); SET_IP_INFO, its adapter also named by MAC, is
//     validated whole (setip.go), planned (plan.go), persisted with
//     sysrc before the reply and applied live after it (apply.go,
//     live.go, livecmds.go).
//   - Linux: links, addresses and default routes come from rtnetlink
//     (netlink_linux.go, parsed in linuxnl.go), and an rtnetlink watch
//     says when they must be read again (netwatch_linux.go, getcache.go).
//     Which manager owns an interface, NetworkManager, systemd-networkd,
//     ifupdown or netplan's rendering for one of the first two, is read
//     from their files under Config.Root, never by listing processes
//     (linuxmgr.go, linuxnm.go, linuxnetworkd.go, linuxifupdown.go,
//     linuxini.go); that owner gives the DHCP state, and DNS is what the
//     system really resolves with, systemd-resolved's upstream servers
//     rather than its stub (linuxdns.go). These reads are kept until a
//     file they came from changes (linuxtree.go, linuxcache.go).
//     SET_IP_INFO names its adapter by VMBus instance GUID, mapped through
//     sysfs (linuxset_adapter.go); the request is validated as on FreeBSD,
//     rendered as a NetworkManager keyfile, a networkd .network file or
//     netplan YAML (linuxset_format.go), written atomically before the
//     reply (linuxset_write.go) and applied by that manager's own
//     commands after it (linuxset.go).
//
// On either system an administrator's hook, if installed, takes the
// validated request instead (hook.go). routes_linux.go and procroute.go
// read the default routes from procfs for a FreeBSD-protocol agent
// running on Linux, as the tests and the demo run it.
//
// The KVP message and its transport are package kvp's, which hands
// GET_IP_INFO and SET_IP_INFO here; rc.conf and the interface naming
// rules are package fbsdnet's; commands run through package command.
package netinfo
