package netinfo

import (
	"crypto/sha1"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
)

// linuxManager is a Linux network manager whose configuration format
// SET_IP_INFO writes.
type linuxManager int

const (
	noManager      linuxManager = iota
	networkManager              // NetworkManager: a keyfile, nmcli
	networkd                    // systemd-networkd: a .network file, networkctl
	netplan                     // netplan: a YAML file, netplan apply
)

func (m linuxManager) String() string {
	switch m {
	case networkManager:
		return "NetworkManager"
	case networkd:
		return "systemd-networkd"
	case netplan:
		return "netplan"
	}
	return "none"
}

// Where each manager reads the administrator's configuration (under the
// system's root), and the modes of the files written there.
const (
	// NetworkManager's keyfile plugin, system-wide connections
	// (NetworkManager.conf(5), [keyfile] path; nm-settings-keyfile(5)).
	// It refuses a keyfile not owned by root or with any of the mode bits
	// 0077 set (src/core/settings/plugins/keyfile/nms-keyfile-utils.c,
	// nms_keyfile_utils_check_file_permissions_stat), and ignores names
	// starting with '.'.
	nmConnectionsDir = "/etc/NetworkManager/system-connections"
	nmFileMode       = 0o600
	// systemd.network(5): /etc/systemd/network; all files of the three
	// directories sorted by name, the first [Match] that fits wins.
	networkdDir      = "/etc/systemd/network"
	networkdFileMode = 0o644
	// netplan(5): /etc/netplan/*.yaml, merged in name order, later files
	// overriding earlier ones. netplan warns about a file others can read
	// ("Permissions for ... are too open. Netplan configuration should
	// NOT be accessible by others.").
	netplanDir      = "/etc/netplan"
	netplanFileMode = 0o600
)

// File name prefixes. networkd uses the first .network file that
// matches, so hvagent's sorts before cloud-init's (10-cloud-init-IF)
// and systemd's own (80-, 99-). netplan merges all files, the later
// overriding, so hvagent's sorts after cloud-init's (50-cloud-init).
const (
	networkdPrefix = "05-hvagent-"
	netplanPrefix  = "90-hvagent-"
	nmPrefix       = "hvagent-"
)

// linuxNet is a validated Setting in the terms the three managers share:
// the addresses by family, one default gateway per family that has a
// static address, the DNS servers of a static configuration.
type linuxNet struct {
	ifname   string
	dhcp     bool
	v4, v6   []netip.Prefix
	gw4, gw6 netip.Addr // zero: none
	dns      []netip.Addr
	ignored  []netip.Addr // static gateways not written: a second of a family, or a family without an address
}

func linuxNetOf(set Setting) linuxNet {
	n := linuxNet{ifname: set.Interface, dhcp: set.DHCP}
	if set.DHCP {
		// What DHCP and router advertisements provide replaces the
		// rest, as on FreeBSD (makePlan).
		return n
	}
	for _, a := range set.Addrs {
		if a.Addr().Is4() {
			n.v4 = append(n.v4, a)
		} else {
			n.v6 = append(n.v6, a)
		}
	}
	for _, gw := range set.Gateways {
		slot, have := &n.gw6, len(n.v6) > 0
		if gw.Is4() {
			slot, have = &n.gw4, len(n.v4) > 0
		}
		if !have || slot.IsValid() {
			n.ignored = append(n.ignored, gw)
			continue
		}
		*slot = gw
	}
	n.dns = set.DNS
	return n
}

// configHeader starts every file SET_IP_INFO writes.
func configHeader(comment string) string {
	return comment + " Written by hvagent from the Hyper-V host's SET_IP_INFO request; the next\n" +
		comment + " one for this interface replaces it (hvagent(8), NETWORK CONFIGURATION).\n"
}

// nmKeyfile renders n as a NetworkManager keyfile (nm-settings-keyfile(5),
// nm-settings-nmcli(5)): a connection bound to the interface by name,
// preferred over the interface's other connections at boot
// (autoconnect-priority). It returns the connection's UUID, fixed by
// the interface name so that a later request replaces the same
// connection.
func nmKeyfile(n linuxNet) (uuid string, data []byte) {
	uuid = nameUUID("NetworkManager connection " + n.ifname)
	var b strings.Builder
	b.WriteString(configHeader("#"))
	fmt.Fprintf(&b, "[connection]\nid=%s%s\nuuid=%s\ntype=ethernet\ninterface-name=%s\nautoconnect=true\nautoconnect-priority=100\n",
		nmPrefix, n.ifname, uuid, n.ifname)
	nmFamily(&b, "ipv4", n.dhcp, n.v4, n.gw4, n.dns, func(a netip.Addr) bool { return a.Is4() })
	nmFamily(&b, "ipv6", n.dhcp, n.v6, n.gw6, n.dns, func(a netip.Addr) bool { return a.Is6() })
	return uuid, []byte(b.String())
}

// nmFamily writes the [ipv4] or [ipv6] section. DHCP is method auto
// (for IPv6: router advertisements and DHCPv6); a
// static configuration without an address of the family disables IPv4
// and leaves IPv6 its link-local address only. NetworkManager takes
// each family's DNS servers in its own section.
func nmFamily(b *strings.Builder, sect string, dhcp bool, addrs []netip.Prefix, gw netip.Addr, dns []netip.Addr, fam func(netip.Addr) bool) {
	fmt.Fprintf(b, "\n[%s]\n", sect)
	switch {
	case dhcp:
		b.WriteString("method=auto\n")
		return
	case len(addrs) == 0 && sect == "ipv4":
		b.WriteString("method=disabled\n")
	case len(addrs) == 0:
		b.WriteString("method=link-local\n")
	default:
		b.WriteString("method=manual\n")
	}
	for i, a := range addrs {
		fmt.Fprintf(b, "address%d=%s\n", i+1, a)
	}
	if gw.IsValid() {
		fmt.Fprintf(b, "gateway=%s\n", gw)
	}
	var servers []string
	for _, a := range dns {
		if fam(a) {
			servers = append(servers, a.String()+";")
		}
	}
	if servers != nil {
		fmt.Fprintf(b, "dns=%s\n", strings.Join(servers, ""))
	}
}

// networkdFile renders n as a systemd.network(5) file matching the
// interface by name (the VF, which has the same MAC, has another name).
// DHCP is DHCPv4 and DHCPv6, router advertisements accepted (what
// netplan renders for dhcp4 and dhcp6); a static configuration accepts
// no advertisement.
func networkdFile(n linuxNet) []byte {
	var b strings.Builder
	b.WriteString(configHeader("#"))
	fmt.Fprintf(&b, "[Match]\nName=%s\n\n[Network]\n", n.ifname)
	if n.dhcp {
		b.WriteString("DHCP=yes\n")
		return []byte(b.String())
	}
	b.WriteString("DHCP=no\nIPv6AcceptRA=no\n")
	for _, a := range append(n.v4, n.v6...) {
		fmt.Fprintf(&b, "Address=%s\n", a)
	}
	for _, gw := range []netip.Addr{n.gw4, n.gw6} {
		if gw.IsValid() {
			fmt.Fprintf(&b, "Gateway=%s\n", gw)
		}
	}
	for _, a := range n.dns {
		fmt.Fprintf(&b, "DNS=%s\n", a)
	}
	return []byte(b.String())
}

// netplanFile renders n as netplan YAML (netplan(5)) for the interface
// alone. netplan merges it over the definitions of earlier files, such
// as cloud-init's (which keep their match: and set-name:): its scalars
// replace theirs, but lists are appended to, so addresses, routes and
// servers an earlier file sets for the interface stay. Every value is
// an interface name or a net/netip rendering, quoted.
func netplanFile(n linuxNet) []byte {
	var b strings.Builder
	b.WriteString(configHeader("#"))
	fmt.Fprintf(&b, "network:\n  version: 2\n  ethernets:\n    %q:\n", n.ifname)
	if n.dhcp {
		b.WriteString("      dhcp4: true\n      dhcp6: true\n")
		return []byte(b.String())
	}
	b.WriteString("      dhcp4: false\n      dhcp6: false\n      accept-ra: false\n")
	if addrs := append(n.v4, n.v6...); len(addrs) > 0 {
		b.WriteString("      addresses:\n")
		for _, a := range addrs {
			fmt.Fprintf(&b, "        - %q\n", a.String())
		}
	}
	if n.gw4.IsValid() || n.gw6.IsValid() {
		b.WriteString("      routes:\n")
		for _, gw := range []netip.Addr{n.gw4, n.gw6} {
			if gw.IsValid() {
				fmt.Fprintf(&b, "        - to: default\n          via: %q\n", gw.String())
			}
		}
	}
	if len(n.dns) > 0 {
		b.WriteString("      nameservers:\n        addresses:\n")
		for _, a := range n.dns {
			fmt.Fprintf(&b, "          - %q\n", a.String())
		}
	}
	return []byte(b.String())
}

// linuxFile is the configuration file SET_IP_INFO writes for manager m,
// under root, and its content and mode; uuid is the NetworkManager
// connection's.
type linuxFile struct {
	path string
	data []byte
	mode uint32
	uuid string
}

func renderLinux(m linuxManager, root string, n linuxNet) linuxFile {
	switch m {
	case networkManager:
		uuid, data := nmKeyfile(n)
		return linuxFile{path: filepath.Join(root, nmConnectionsDir, nmPrefix+n.ifname+".nmconnection"), data: data, mode: nmFileMode, uuid: uuid}
	case networkd:
		return linuxFile{path: filepath.Join(root, networkdDir, networkdPrefix+n.ifname+".network"), data: networkdFile(n), mode: networkdFileMode}
	case netplan:
		return linuxFile{path: filepath.Join(root, netplanDir, netplanPrefix+n.ifname+".yaml"), data: netplanFile(n), mode: netplanFileMode}
	}
	return linuxFile{}
}

// applyCommands are the manager's own commands that make the running
// system use f: NetworkManager loads the keyfile and activates the
// connection; networkd re-reads its files and reconfigures the
// interface; netplan renders its YAML for its backend and applies it.
func applyCommands(m linuxManager, f linuxFile, ifname string) [][]string {
	switch m {
	case networkManager:
		return [][]string{{"nmcli", "connection", "load", f.path}, {"nmcli", "connection", "up", "uuid", f.uuid}}
	case networkd:
		return [][]string{{"networkctl", "reload"}, {"networkctl", "reconfigure", ifname}}
	case netplan:
		return [][]string{{"netplan", "apply"}}
	}
	return nil
}

// nameUUID is an RFC 9562 version 5 (name-based, SHA-1) UUID of name
// in hvagent's own namespace: the same name, the same UUID.
func nameUUID(name string) string {
	// A version 4 UUID drawn once for hvagent; any fixed value would do.
	ns := [16]byte{0x6b, 0x1e, 0x4a, 0x1c, 0x9d, 0x2f, 0x4c, 0x43, 0x8e, 0x6a, 0x0f, 0x57, 0x3b, 0x2d, 0x91, 0xc4}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
