package netinfo

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseRCConf(t *testing.T) {
	in := `# /etc/rc.conf
hostname="vm1"
ifconfig_hn0="inet 192.0.2.10 netmask 255.255.255.0"  # static
ifconfig_hn0_alias0='inet 192.0.2.11/32'
  ifconfig_hn1=SYNCDHCP
ifconfig_hn1=DHCP
defaultrouter=192.0.2.1 # comment
if [ -f /etc/other ]; then . /etc/other; fi
export PATH=/bin
1bad="x"
ifconfig_em0.100="ignored: not a variable name"
empty=""
`
	want := map[string]string{
		"hostname":            "vm1",
		"ifconfig_hn0":        "inet 192.0.2.10 netmask 255.255.255.0",
		"ifconfig_hn0_alias0": "inet 192.0.2.11/32",
		"ifconfig_hn1":        "DHCP",
		"defaultrouter":       "192.0.2.1",
		"empty":               "",
	}
	if got := parseRCConf([]byte(in)); !reflect.DeepEqual(got, want) {
		t.Fatalf("parseRCConf mismatch (-want +got):\n-%v\n+%v", want, got)
	}
}

func TestIsDHCPConfig(t *testing.T) {
	for v, want := range map[string]bool{
		"DHCP": true, "dhcp": true, "SYNCDHCP": true, "NOSYNCDHCP mtu 1400": true, "up DHCP": true,
		"inet 192.0.2.10/24": false, "": false, "DHCPX": false, "inet6 accept_rtadv": false,
	} {
		if got := isDHCPConfig(v); got != want {
			t.Errorf("isDHCPConfig(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestRCName(t *testing.T) {
	for in, want := range map[string]string{"hn0": "hn0", "em0.100": "em0_100", "lagg0": "lagg0", "tap-1": "tap_1"} {
		if got := rcName(in); got != want {
			t.Errorf("rcName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithNameservers(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}
	tests := []struct{ name, in, want string }{
		{"replace in place", "# hdr\nsearch a.example b.example\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions edns0 timeout:1\n",
			"# hdr\nsearch a.example b.example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions edns0 timeout:1\n"},
		{"none before", "domain example.com\n", "domain example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"},
		{"empty file", "", "nameserver 192.0.2.53\nnameserver 2001:db8::53\n"},
		{"no final newline", "search x\nnameserver 10.0.0.1", "search x\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(withNameservers([]byte(tt.in), servers)); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if got := nameservers(withNameservers([]byte(tt.in), servers)); !reflect.DeepEqual(got, servers) {
				t.Errorf("nameservers read back %v", got)
			}
		})
	}
}

func TestWriteAtomicKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(b) != "new\n" || st.Mode().Perm() != 0o640 {
		t.Fatalf("content %q mode %v; want new content, mode 0640 kept", b, st.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

// A resolv.conf that is a symlink stays one: its target is replaced.
func TestWriteAtomicFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "run", "resolv.conf")
	link := filepath.Join(dir, "resolv.conf")
	if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("run/resolv.conf", link); err != nil {
		t.Fatal(err)
	}
	if err := writeThroughLink(link, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symlink (%v)", link, err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new\n" {
		t.Fatalf("target holds %q", b)
	}
}

// FuzzSystemFiles: the readers of rc.conf, resolv.conf and Linux's
// route tables never panic, and what they return is well formed.
func FuzzSystemFiles(f *testing.F) {
	f.Add([]byte("ifconfig_hn0=\"DHCP\"\nnameserver 192.0.2.53\n"))
	f.Add([]byte("eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"))
	f.Add([]byte("00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"))
	f.Add([]byte("x='unterminated\nsearch a\nnameserver fe80::1%eth0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for name := range parseRCConf(b) {
			if !isVarName(name) {
				t.Fatalf("variable name %q", name)
			}
		}
		for _, a := range nameservers(b) {
			if !a.IsValid() || a.Zone() != "" {
				t.Fatalf("nameserver %v", a)
			}
		}
		_ = withNameservers(b, nil)
		for _, r := range append(parseProcRoute(bytes.NewReader(b)), parseProcIPv6Route(bytes.NewReader(b))...) {
			if !r.Gateway.IsValid() || r.Gateway.IsUnspecified() || r.Link == "" {
				t.Fatalf("route %+v", r)
			}
		}
	})
}
