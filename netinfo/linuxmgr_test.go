package netinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// makeTree writes files (path on the system -> content) under a new
// root directory; a content of "<dir>" makes an empty directory.
func makeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if c == "<dir>" {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	nmDevState = "# NetworkManager runtime device state file\n[device]\nmanaged=true\nperm-hw-addr-fake=\nconnection-uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\nnm-owned=false\n"
	nmProfile  = "[connection]\nid=Wired\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n"
	ndState    = "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=%s\nNETWORK_FILE_DROPINS=\"%s\"\nDNS=\n"
)

var eth0 = Link{Name: "eth0", Index: 3, MAC: mustMAC("00:15:5d:01:02:03")}

func TestLinuxOwnerOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  LinuxOwner
	}{{
		name: "nothing",
		files: map[string]string{
			"/etc/network/interfaces": "auto lo\niface lo inet loopback\n",
		},
		want: LinuxOwner{},
	}, {
		name: "NetworkManager running, profile by uuid",
		files: map[string]string{
			"/run/NetworkManager/devices/3":                         nmDevState,
			"/etc/NetworkManager/system-connections/a.nmconnection": "[connection]\nuuid=other\ninterface-name=eth0\n[ipv4]\nmethod=manual\n",
			"/etc/NetworkManager/system-connections/b.nmconnection": nmProfile,
			"/run/systemd/netif/links/3":                            "ADMIN_STATE=unmanaged\n",
		},
		want: LinuxOwner{Manager: ManagerNetworkManager, File: "/etc/NetworkManager/system-connections/b.nmconnection",
			Connection: "5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03", DHCP4: true, Running: true},
	}, {
		name: "NetworkManager running a netplan rendering",
		files: map[string]string{
			"/run/NetworkManager/devices/3": nmDevState,
			"/run/NetworkManager/system-connections/netplan-eth0.nmconnection": "[connection]\nid=netplan-eth0\n" +
				"uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ninterface-name=eth0\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24\n[ipv6]\nmethod=dhcp\n",
		},
		want: LinuxOwner{Manager: ManagerNetworkManager, File: "/run/NetworkManager/system-connections/netplan-eth0.nmconnection",
			Connection: "5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03", DHCP6: true, Running: true, Netplan: true, NetplanID: "eth0"},
	}, {
		name: "NetworkManager running an in-memory connection",
		files: map[string]string{
			"/run/NetworkManager/devices/3": nmDevState,
		},
		want: LinuxOwner{Manager: ManagerNetworkManager, Connection: "5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03", DHCP4: true, Running: true},
	}, {
		name: "NetworkManager leaves it unmanaged, networkd runs it",
		files: map[string]string{
			"/run/NetworkManager/devices/3":                         "[device]\nmanaged=false\n",
			"/etc/NetworkManager/system-connections/b.nmconnection": nmProfile,
			"/run/systemd/netif/links/3": fmtS(ndState, "/run/systemd/network/10-netplan-eth0.network",
				"/run/systemd/network/10-netplan-eth0.network.d/50-a.conf:/etc/systemd/network/10-netplan-eth0.network.d/60-b.conf"),
			"/run/systemd/network/10-netplan-eth0.network":                   "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n",
			"/run/systemd/network/10-netplan-eth0.network.d/50-a.conf":       "[Network]\nDHCP=no\n",
			"/etc/systemd/network/10-netplan-eth0.network.d/60-b.conf":       "[Network]\nDHCP=ipv6\n",
			"/etc/systemd/network/10-netplan-eth0.network.d/unrelated.other": "[Network]\nDHCP=yes\n",
		},
		want: LinuxOwner{Manager: ManagerNetworkd, File: "/run/systemd/network/10-netplan-eth0.network",
			DropIns: []string{"/run/systemd/network/10-netplan-eth0.network.d/50-a.conf", "/etc/systemd/network/10-netplan-eth0.network.d/60-b.conf"},
			DHCP6:   true, Running: true, Netplan: true, NetplanID: "eth0"},
	}, {
		name: "networkd holds a lease the file does not ask for",
		files: map[string]string{
			"/run/systemd/netif/links/3":                            fmtS(ndState, "/etc/systemd/network/eth0.network", "") + "DHCP_LEASE=/run/systemd/netif/leases/3\n",
			"/etc/systemd/network/eth0.network":                     "[Match]\nName=eth0\n",
			"/etc/network/interfaces":                               "iface eth0 inet dhcp\n",
			"/run/network/ifstate.eth0":                             "eth0\n",
			"/run/NetworkManager/devices/4":                         nmDevState,
			"/run/NetworkManager/system-connections/x.nmconnection": nmProfile,
		},
		want: LinuxOwner{Manager: ManagerNetworkd, File: "/etc/systemd/network/eth0.network", DHCP4: true, Running: true},
	}, {
		name: "networkd unmanaged: ifupdown brought it up",
		files: map[string]string{
			"/run/systemd/netif/links/3":    "ADMIN_STATE=unmanaged\nNETWORK_FILE=\n",
			"/etc/network/interfaces":       "source-directory interfaces.d\n",
			"/etc/network/interfaces.d/a.b": "iface eth0 inet dhcp\n",
			"/etc/network/interfaces.d/eth0": "allow-hotplug eth0\niface eth0 inet static\n\taddress 192.0.2.10/24\n" +
				"iface eth0 inet6 auto\n\tdhcp 1\n",
			"/run/network/ifstate.eth0": "eth0\n",
		},
		want: LinuxOwner{Manager: ManagerIfupdown, File: "/etc/network/interfaces.d/eth0", DHCP6: true, Running: true},
	}, {
		name: "ifupdown before 0.8: one ifstate file",
		files: map[string]string{
			"/etc/network/interfaces": "auto lo\niface lo inet loopback\n",
			"/run/network/ifstate":    "lo=lo\neth0=eth0\n",
		},
		want: LinuxOwner{Manager: ManagerIfupdown, Running: true},
	}, {
		name: "configured only: a NetworkManager profile by MAC",
		files: map[string]string{
			"/etc/NetworkManager/system-connections/off.nmconnection": "[connection]\nuuid=1\nautoconnect=false\n[ethernet]\nmac-address=00:15:5D:01:02:03\n",
			"/etc/NetworkManager/system-connections/on.nmconnection":  "[connection]\nuuid=2\n[ethernet]\nmac-address=00:15:5D:01:02:03\n",
			"/etc/NetworkManager/system-connections/on.nmconnection~": "[connection]\nuuid=3\ninterface-name=eth0\n",
			"/etc/systemd/network/eth0.network":                       "[Match]\nName=eth0\n[Network]\nDHCP=yes\n",
		},
		want: LinuxOwner{Manager: ManagerNetworkManager, File: "/etc/NetworkManager/system-connections/on.nmconnection", Connection: "2", DHCP4: true},
	}, {
		name: "configured only: networkd's first matching file by name",
		files: map[string]string{
			"/etc/systemd/network/90-all.network":              "[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n",
			"/etc/systemd/network/05-type.network":             "[Match]\nType=ether\n[Network]\nDHCP=no\n",
			"/etc/systemd/network/06-not.network":              "[Match]\nName=!eth*\n[Network]\nDHCP=no\n",
			"/etc/systemd/network/07-mac.network":              "[Match]\nMACAddress=00:15:5d:ff:ff:ff\n[Network]\nDHCP=no\n",
			"/run/systemd/network/10-netplan-eth0.network":     "[Match]\nMACAddress=00:15:5d:01:02:03\nName=eth0\n[Network]\nDHCP=ipv4\n",
			"/usr/lib/systemd/network/10-netplan-eth0.network": "[Match]\nName=eth0\n[Network]\nDHCP=no\n",
		},
		want: LinuxOwner{Manager: ManagerNetworkd, File: "/run/systemd/network/10-netplan-eth0.network", DHCP4: true, Netplan: true, NetplanID: "eth0"},
	}, {
		name: "configured only: ifupdown through source globs",
		files: map[string]string{
			"/etc/network/interfaces":            "source /etc/network/interfaces.d/*\n# iface eth0 inet static\n",
			"/etc/network/interfaces.d/50-cloud": "auto eth0\niface eth0 \\\n inet dhcp\n",
		},
		want: LinuxOwner{Manager: ManagerIfupdown, File: "/etc/network/interfaces.d/50-cloud", DHCP4: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := makeTree(t, tc.files)
			if got := LinuxOwnerOf(root, eth0); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LinuxOwnerOf mismatch (-want +got):\n-%+v\n+%+v", tc.want, got)
			}
		})
	}
}

// A source line that includes its own file ends at the nesting bound.
func TestIfupdownSourceLoop(t *testing.T) {
	root := makeTree(t, map[string]string{
		"/etc/network/interfaces": "source interfaces\niface eth0 inet dhcp\n",
	})
	if got := LinuxOwnerOf(root, eth0); got.Manager != ManagerIfupdown || !got.DHCP4 {
		t.Errorf("got %+v", got)
	}
}

func fmtS(format string, args ...any) string { return fmt.Sprintf(format, args...) }
