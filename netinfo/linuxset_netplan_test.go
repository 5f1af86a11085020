package netinfo

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

// needNetplan returns the netplan command's path, or skips (fails under
// CI=true, which installs Debian's netplan.io).
func needNetplan(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("netplan")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("netplan is not on PATH, and CI must install it (netplan.io): %v", err)
		}
		t.Skipf("netplan is not on PATH (%v); install Debian's netplan.io to check the YAML hvagent writes", err)
	}
	return p
}

// netplan itself accepts the YAML SET_IP_INFO writes, merged over
// cloud-init's definition of the interface, and renders from it what
// the host asked for, for networkd and for NetworkManager. "netplan
// generate --root-dir" reads and writes only under the test's root; the
// "netplan apply" SET_IP_INFO runs is the fake on PATH.
func TestNetplanGenerateAcceptsYAML(t *testing.T) {
	np := needNetplan(t)
	env := append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	nm := maps.Clone(treeNetplan)
	nm["/etc/netplan/01-renderer.yaml"] = "network:\n  version: 2\n  renderer: NetworkManager\n"
	for _, tc := range []struct {
		name     string
		tree     map[string]string
		req      kvp.IPInfo
		rendered string
		want     []string // lines of the rendering
		not      []string // starts of lines it must not have
	}{{
		name: "networkd static", tree: treeNetplan, req: staticV46,
		rendered: "/run/systemd/network/10-netplan-eth0.network",
		want: []string{"PermanentMACAddress=00:15:5d:0a:0b:0c", "Name=eth0",
			"Address=192.0.2.10/24", "Address=192.0.2.11/25", "Address=2001:db8::10/64", "IPv6AcceptRA=no",
			"DNS=192.0.2.53", "DNS=2001:db8::53", "Gateway=192.0.2.1", "Gateway=fe80::1"},
		not: []string{"DHCP=ipv4", "DHCP=yes", "Gateway=192.0.2.2"},
	}, {
		name: "networkd DHCP", tree: treeNetplan, req: dhcpOnly,
		rendered: "/run/systemd/network/10-netplan-eth0.network",
		want:     []string{"Name=eth0", "DHCP=yes"},
		not:      []string{"Address=", "IPv6AcceptRA=no"},
	}, {
		name: "NetworkManager static", tree: nm, req: staticV46,
		rendered: "/run/NetworkManager/system-connections/netplan-eth0.nmconnection",
		want: []string{"interface-name=eth0", "[ipv4]", "method=manual", "address1=192.0.2.10/24", "address2=192.0.2.11/25",
			"dns=192.0.2.53;", "[ipv6]", "address1=2001:db8::10/64", "dns=2001:db8::53;"},
		not: []string{"method=auto"},
	}, {
		name: "NetworkManager DHCP", tree: nm, req: dhcpOnly,
		rendered: "/run/NetworkManager/system-connections/netplan-eth0.nmconnection",
		want:     []string{"interface-name=eth0", "[ipv4]", "method=auto", "[ipv6]"},
		not:      []string{"method=manual", "address1="},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLinuxEnv(t, tc.tree)
			for p := range tc.tree {
				if strings.HasPrefix(p, "/etc/netplan/") {
					// As cloud-init writes them: netplan warns about others.
					if err := os.Chmod(filepath.Join(e.root, p), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if st := e.set(tc.req); st != kvp.StatusOK {
				t.Fatalf("status %v; log:\n%s", st, e.logs)
			}
			cmd := exec.Command(np, "generate", "--root-dir", e.root)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Fatalf("netplan generate: %v, said:\n%s", err, out)
			}
			b, err := os.ReadFile(filepath.Join(e.root, tc.rendered))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(b), "\n")
			for _, w := range tc.want {
				if !containsLine(lines, w) {
					t.Errorf("%s lacks %q:\n%s", tc.rendered, w, b)
				}
			}
			for _, l := range lines {
				for _, n := range tc.not {
					if strings.HasPrefix(strings.TrimSpace(l), n) {
						t.Errorf("%s has %q:\n%s", tc.rendered, l, b)
					}
				}
			}
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}
