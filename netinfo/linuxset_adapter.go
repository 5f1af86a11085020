package netinfo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hvagent/hvagent/internal/fstrust"
	"github.com/hvagent/hvagent/kvp"
)

// sysClassNet is where Linux lists its network interfaces, one entry per
// interface: net/core/net-sysfs.c, net_class ("net" class of the device
// model, under /sys/class).
const sysClassNet = "/sys/class/net"

// Per interface under sysClassNet: its device's VMBus instance GUID
// (drivers/hv/vmbus_drv.c, device_id_show, a device attribute of the
// hv_device the interface's "device" link leads to), and the link to
// the interface it is enslaved to (net/core/dev.c,
// __netdev_adjacent_dev_insert: sysfs_create_link(..., "master")).
const (
	deviceIDFile = "device/device_id"
	masterLink   = "master"
)

// maxDeviceID bounds the read of a device_id file: the kernel writes a
// braced GUID and a newline (39 bytes); tools/hv/hv_kvp_daemon.c,
// kvp_get_if_name, reads it with fgets into 256 bytes.
const maxDeviceID = 256

// adapterByGUID maps SET_IP_INFO's adapter_id to the network interface
// whose VMBus device it names, as tools/hv/hv_kvp_daemon.c,
// kvp_get_if_name, does: on Linux the kernel passes the host's GUID on
// untouched (drivers/hv/hv_kvp.c, process_ib_ipinfo), and every VMBus
// device shows its instance GUID in DIR/IF/device/device_id
// (drivers/hv/vmbus_drv.c, device_id_show: "{%pUl}\n", braced, lower
// case). GUIDs compare case-insensitively, braces optional, where the C
// daemon compares bytes. An interface linked under a master
// (DIR/IF/master, net/core/dev.c, __netdev_adjacent_dev_insert) is never
// the answer: that is the VF hv_netvsc enslaves to the synthetic NIC,
// which carries the configuration. found is false if no interface has
// the GUID; err is for a directory that cannot be listed.
func adapterByGUID(dir, id string) (ifname string, found bool, err error) {
	want, ok := normalGUID(id)
	if !ok {
		return "", false, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", false, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range ents { // sorted by name: the first match wins
		name := e.Name()
		if _, err := os.Lstat(filepath.Join(dir, name, masterLink)); err == nil {
			continue
		}
		got, ok := readDeviceID(filepath.Join(dir, name, deviceIDFile))
		if ok && got == want {
			return name, true, nil
		}
	}
	return "", false, nil
}

// readDeviceID reads a device_id file as a normalized GUID; ok is false
// for a missing, unreadable or malformed one (not every interface is a
// VMBus device: lo, a VF on PCI, a bridge have none).
func readDeviceID(path string) (string, bool) {
	f, err := fstrust.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDeviceID))
	if err != nil {
		return "", false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return normalGUID(line)
}

// normalGUID is a GUID without braces, in lower case; ok is false for
// anything else.
func normalGUID(s string) (string, bool) {
	if !looksLikeGUID(s) {
		return "", false
	}
	if strings.HasPrefix(s, "{") != strings.HasSuffix(s, "}") {
		return "", false
	}
	return strings.ToLower(strings.Trim(s, "{}")), true
}

// maxIfName is the longest Linux interface name: IFNAMSIZ (16,
// include/uapi/linux/if.h) less its NUL.
const maxIfName = 15

// checkLinuxName accepts the interface names SET_IP_INFO writes into
// configuration files and file names. The kernel allows more
// (net/core/dev.c, dev_valid_name: anything but '/', ':' and spaces),
// but a '*' is a glob to systemd-networkd's Name=, a ';' a list
// separator to NetworkManager, a quote or '#' special to YAML; such a
// name is refused, not escaped three ways.
func checkLinuxName(name string) error {
	ok := name != "" && len(name) <= maxIfName && name[0] != '-' && name[0] != '.'
	for _, r := range name {
		if !ok {
			break
		}
		ok = r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
	}
	if !ok {
		return invalid("interface", "interface name %q is not one hvagent writes into network configuration", name)
	}
	return nil
}

// linuxAdapter validates adapter_id as a GUID and maps it to its
// interface through dir (sysClassNet on the running system).
func linuxAdapter(dir, id string) (string, error) {
	if !looksLikeGUID(id) {
		return "", invalid("interface", "adapter %q is not a VMBus GUID", id)
	}
	name, found, err := adapterByGUID(dir, id)
	switch {
	case err != nil:
		return "", err
	case !found:
		return "", reject("adapter_not_found", kvp.StatusGUIDNotFound, "no network interface has VMBus device %s (%s/*/device/device_id)", id, dir)
	}
	return name, checkLinuxName(name)
}
