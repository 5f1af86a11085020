package netinfo

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

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

// FuzzSystemFiles: the readers of resolv.conf and Linux's
// route tables never panic, and what they return is well formed.
func FuzzSystemFiles(f *testing.F) {
	f.Add([]byte("ifconfig_hn0=\"DHCP\"\nnameserver 192.0.2.53\n"))
	f.Add([]byte("eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"))
	f.Add([]byte("00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"))
	f.Add([]byte("x='unterminated\nsearch a\nnameserver fe80::1%eth0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
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
