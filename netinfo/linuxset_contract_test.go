package netinfo

import (
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

// The Linux facts SET_IP_INFO relies on, each with the source file and
// symbol it comes from (the FreeBSD ones are in contract_test.go).
func TestContractLinuxSet(t *testing.T) {
	nums := []struct {
		name      string
		got, want int
	}{
		{"IFNAMSIZ less the NUL", maxIfName, 16 - 1},                  // include/uapi/linux/if.h, IFNAMSIZ
		{"device_id read", maxDeviceID, 256},                          // tools/hv/hv_kvp_daemon.c, kvp_get_if_name: char buf[256]
		{"HV_GUID_NOTFOUND", int(kvp.StatusGUIDNotFound), 0x80041002}, // include/uapi/linux/hyperv.h, HV_GUID_NOTFOUND
		{"NetworkManager keyfile mode", nmFileMode, 0o600},            // NetworkManager, nms-keyfile-utils.c, nms_keyfile_utils_check_file_permissions_stat: st_mode & 0077 refused
		{"netplan YAML mode", netplanFileMode, 0o600},                 // netplan generate warns: "Permissions for ... are too open"
	}
	for _, n := range nums {
		if n.got != n.want {
			t.Errorf("%s = %#o, want %#o", n.name, n.got, n.want)
		}
	}
	strs := []struct {
		name, got, want string
	}{
		{"sysfs network class", sysClassNet, "/sys/class/net"},                                  // net/core/net-sysfs.c, net_class: .name = "net"
		{"NetworkManager keyfiles", nmConnectionsDir, "/etc/NetworkManager/system-connections"}, // NetworkManager.conf(5), [keyfile] path default
		{"networkd files", networkdDir, "/etc/systemd/network"},                                 // systemd.network(5), the local administration directory
		{"netplan files", netplanDir, "/etc/netplan"},                                           // netplan(5), /etc/netplan/*.yaml
		{"VMBus instance GUID", deviceIDFile, "device/device_id"},                               // drivers/hv/vmbus_drv.c, dev_attr_device_id (DEVICE_ATTR_RO(device_id))
		{"master link", masterLink, "master"},                                                   // net/core/dev.c, __netdev_adjacent_dev_insert: sysfs_create_link(..., "master")
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
		}
	}
	// drivers/hv/vmbus_drv.c, device_id_show: "{%pUl}\n", the GUID
	// braced and in lower case, which normalGUID reads back as is (less
	// the braces) and a host's upper-case GUID normalizes to.
	for _, id := range []string{setGUID, setGUIDHost} {
		if g, ok := normalGUID(id); !ok || "{"+g+"}" != setGUID {
			t.Errorf("normalGUID(%q) = %q, %v; want %q less its braces", id, g, ok, setGUID)
		}
	}
}
