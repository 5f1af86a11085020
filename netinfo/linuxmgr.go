package netinfo

import (
	"path"
	"strings"
)

// LinuxManager names the program that configures an interface on a
// Linux system.
type LinuxManager string

// The managers hvagent knows. netplan is not among them: it is a
// generator that renders its YAML for NetworkManager or networkd, which
// then own the interface (LinuxOwner.Netplan says so).
const (
	ManagerNone           LinuxManager = ""
	ManagerNetworkManager LinuxManager = "NetworkManager"
	ManagerNetworkd       LinuxManager = "systemd-networkd"
	ManagerIfupdown       LinuxManager = "ifupdown"
)

// LinuxOwner says who configures one interface of a Linux system, from
// which file, and whether that configuration asks for DHCP.
type LinuxOwner struct {
	Manager LinuxManager

	// File is the configuration the manager applies to the interface,
	// as a path on the system (not joined with the root): a
	// NetworkManager connection keyfile, a networkd .network file, or
	// the ifupdown file holding the interface's first iface stanza. ""
	// if the manager runs the interface without one (a NetworkManager
	// connection kept only in memory, an ifupdown state without a
	// stanza).
	File string
	// DropIns are the networkd .network drop-ins applied after File, in
	// order (NETWORK_FILE_DROPINS).
	DropIns []string
	// Connection is the NetworkManager connection's UUID, if known.
	Connection string

	// Netplan: File is netplan's rendering (/run/systemd/network/
	// 10-netplan-ID.network, /run/NetworkManager/system-connections/
	// netplan-ID*.nmconnection), regenerated from /etc/netplan/*.yaml at
	// every boot and by "netplan apply": a change belongs in netplan's
	// YAML for NetplanID, never in File.
	Netplan   bool
	NetplanID string

	// DHCP4 and DHCP6: the configuration, or the manager's run-time
	// state, has a DHCP client on the interface for that family
	// (NetworkManager ipv4.method=auto / ipv6.method=dhcp; networkd
	// DHCP=, a lease or a DHCPv6 client in its state; ifupdown "inet
	// dhcp" / "inet6 dhcp").
	DHCP4, DHCP6 bool

	// Running: found in the manager's run-time state under /run (it
	// manages the interface now), not only guessed from configuration
	// files.
	Running bool
}

// DHCP reports whether either family is configured by DHCP.
func (o LinuxOwner) DHCP() bool { return o.DHCP4 || o.DHCP6 }

// LinuxOwnerOf finds who configures interface l (its Name and Index;
// its MAC for configurations that match on it) on the Linux system
// under root ("/" for the running system). No process is listed and no
// command run: only the managers' files are read.
//
// The managers' run-time state decides first, as it says who manages
// the interface now:
//  1. NetworkManager: /run/NetworkManager/devices/IFINDEX with
//     managed=true; the file is the keyfile whose uuid= is the state's
//     connection-uuid, else one that names the interface.
//  2. systemd-networkd: /run/systemd/netif/links/IFINDEX whose
//     ADMIN_STATE is not "unmanaged" and that names a NETWORK_FILE.
//  3. ifupdown: /run/network/ifstate.IF (or IF=... in
//     /run/network/ifstate), with the stanza from /etc/network/interfaces.
//
// Without run-time state (the manager not started yet, a test tree),
// the configuration decides, in this order: a NetworkManager keyfile
// whose interface-name or mac-address is l's, a networkd .network whose
// [Match] Name= or MACAddress= is l's (the first by file name, as
// networkd picks it), an ifupdown stanza. Files that cannot be read
// count as absent; the zero LinuxOwner (ManagerNone) means no manager
// claims the interface.
func LinuxOwnerOf(root string, l Link) LinuxOwner {
	return linuxOwner(newLinuxTree(root), l)
}

// linuxOwner is LinuxOwnerOf reading through t, which records the
// paths it looked at.
func linuxOwner(t *linuxTree, l Link) LinuxOwner {
	for _, find := range []func(*linuxTree, Link) (LinuxOwner, bool){
		nmRunning, networkdRunning, ifupdownRunning,
		nmConfigured, networkdConfigured, ifupdownConfigured,
	} {
		if o, ok := find(t, l); ok {
			o.NetplanID, o.Netplan = netplanID(o.File)
			return o
		}
	}
	return LinuxOwner{}
}

// Where netplan writes its renderings (netplan's src/networkd.c,
// write_network_file: "10-netplan-<id>.network" in run/systemd/network;
// src/nm.c, write_nm_conf_access_point: "netplan-<id>[-<ssid>].nmconnection"
// in run/NetworkManager/system-connections).
const (
	netplanNetworkdDir = "/run/systemd/network"
	netplanNMDir       = "/run/NetworkManager/system-connections"
)

// netplanID reports whether file is one of netplan's renderings, and
// the netplan ID it was rendered for.
func netplanID(file string) (string, bool) {
	dir, base := path.Split(file)
	dir = path.Clean(dir)
	switch {
	case dir == netplanNetworkdDir && strings.HasPrefix(base, "10-netplan-") && strings.HasSuffix(base, ".network"):
		return strings.TrimSuffix(strings.TrimPrefix(base, "10-netplan-"), ".network"), true
	case dir == netplanNMDir && strings.HasPrefix(base, "netplan-") && strings.HasSuffix(base, ".nmconnection"):
		return strings.TrimSuffix(strings.TrimPrefix(base, "netplan-"), ".nmconnection"), true
	}
	return "", false
}
