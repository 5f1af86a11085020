package netinfo

import (
	"bytes"
	"net"
	"path"
	"strconv"
	"strings"
)

// NetworkManager's files.
const (
	// nmDevicesDir holds one run-time state file per interface, named by
	// ifindex (src/core/nm-config.c, nm_config_device_state_write:
	// NM_CONFIG_DEVICE_STATE_DIR "/%d"): a keyfile whose [device] group
	// has managed= and, while a connection is active on it,
	// connection-uuid= (DEVICE_RUN_STATE_KEYFILE_KEY_DEVICE_MANAGED,
	// ..._CONNECTION_UUID).
	nmDevicesDir = "/run/NetworkManager/devices"
)

// nmConnectionDirs are where NetworkManager's keyfile plugin reads
// connection profiles (nm-settings-keyfile(5), "FILES"): /etc, the
// volatile /run where netplan renders, and the read-only /usr/lib.
var nmConnectionDirs = []string{
	"/etc/NetworkManager/system-connections",
	"/run/NetworkManager/system-connections",
	"/usr/lib/NetworkManager/system-connections",
}

// nmRunning: NetworkManager's device state says it manages l.
func nmRunning(t *linuxTree, l Link) (LinuxOwner, bool) {
	if l.Index <= 0 {
		return LinuxOwner{}, false
	}
	b, ok := t.read(path.Join(nmDevicesDir, strconv.Itoa(l.Index)))
	if !ok {
		return LinuxOwner{}, false
	}
	st := parseKeyFile(b)
	if !isTrue(st.get("device", "managed")) {
		return LinuxOwner{}, false
	}
	// Without a profile on disk the connection is one NetworkManager
	// made in memory: the default "Wired connection", ipv4.method=auto
	// (src/core/devices/nm-device-ethernet.c, new_default_connection).
	o := LinuxOwner{Manager: ManagerNetworkManager, Running: true, DHCP4: true}
	uuid := st.get("device", "connection-uuid")
	var file string
	var kf keyFile
	if uuid != "" {
		file, kf, ok = nmFind(t, func(kf keyFile) bool { return kf.get("connection", "uuid") == uuid })
	}
	if !ok {
		file, kf, ok = nmFind(t, func(kf keyFile) bool { return nmNames(kf, l) })
	}
	if ok {
		o = nmOwner(file, kf)
		o.Running = true
	}
	if o.Connection == "" {
		o.Connection = uuid
	}
	return o, true
}

// nmConfigured: a connection profile names l (interface-name, or the
// ethernet mac-address) and may start on its own.
func nmConfigured(t *linuxTree, l Link) (LinuxOwner, bool) {
	file, kf, ok := nmFind(t, func(kf keyFile) bool {
		return nmNames(kf, l) && !isFalse(kf.get("connection", "autoconnect"))
	})
	if !ok {
		return LinuxOwner{}, false
	}
	return nmOwner(file, kf), true
}

// nmOwner is what profile kf at file says.
func nmOwner(file string, kf keyFile) LinuxOwner {
	// A missing ipv4.method is "auto" once NetworkManager normalizes an
	// ethernet profile (libnm-core nm-connection.c,
	// _normalize_ip_config); ipv6 "dhcp" is DHCPv6 alone, while "auto"
	// is router advertisements (SLAAC), DHCPv6 only if a router asks.
	m4 := kf.get("ipv4", "method")
	return LinuxOwner{
		Manager:    ManagerNetworkManager,
		File:       file,
		Connection: kf.get("connection", "uuid"),
		DHCP4:      m4 == "" || m4 == "auto",
		DHCP6:      kf.get("ipv6", "method") == "dhcp",
	}
}

// nmNames: profile kf is bound to l by name or by MAC address.
func nmNames(kf keyFile, l Link) bool {
	if n := kf.get("connection", "interface-name"); n != "" {
		return n == l.Name
	}
	mac, err := net.ParseMAC(kf.get("ethernet", "mac-address"))
	return err == nil && len(l.MAC) > 0 && bytes.Equal(mac, l.MAC)
}

// nmFind returns the first profile, in nmConnectionDirs order and by
// file name, for which match holds.
func nmFind(t *linuxTree, match func(keyFile) bool) (string, keyFile, bool) {
	for _, dir := range nmConnectionDirs {
		for _, n := range t.list(dir) {
			if nmIgnored(n) {
				continue
			}
			p := path.Join(dir, n)
			b, ok := t.read(p)
			if !ok {
				continue
			}
			if kf := parseKeyFile(b); match(kf) {
				return p, kf, true
			}
		}
	}
	return "", nil, false
}

// nmIgnored: files the keyfile plugin skips (nm-keyfile-utils.c,
// nm_keyfile_utils_ignore_filename: hidden files, editor backups and
// the .nmmeta files beside the profiles).
func nmIgnored(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".nmmeta") {
		return true
	}
	for _, s := range []string{".bak", ".orig", ".rej", ".swp", ".tmp"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
