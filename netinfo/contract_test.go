package netinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The FreeBSD facts the netinfo package relies on, each with the source
// file and symbol it comes from. The routing-socket constants and the
// rt_msghdr layout are checked against x/sys/unix in
// contract_freebsd_test.go; rtMsghdrLayout below is the same layout
// written out by hand, so Linux checks the expectations too.

func TestContractValues(t *testing.T) {
	nums := []struct {
		name      string
		got, want int
	}{
		// sys/dev/hyperv/utilities/hv_kvp.h, MAX_IP_ADDR_SIZE 1024 UTF-16 units, one for the NUL
		{"ip_addr/sub_net/dns_addr limit", listLimit, 1024 - 1},
		// sys/dev/hyperv/utilities/hv_kvp.h, MAX_GATEWAY_SIZE 512 UTF-16 units, one for the NUL
		{"gate_way limit", gatewayLimit, 512 - 1},
		{"ADDR_FAMILY_IPV4", familyIPv4, 0x01}, // sys/dev/hyperv/utilities/hv_kvp.h, ADDR_FAMILY_IPV4
		{"ADDR_FAMILY_IPV6", familyIPv6, 0x02}, // sys/dev/hyperv/utilities/hv_kvp.h, ADDR_FAMILY_IPV6
		{"MAXNS", maxResolvers, 3},             // include/resolv.h, MAXNS
	}
	for _, n := range nums {
		if n.got != n.want {
			t.Errorf("%s = %d, want %d", n.name, n.got, n.want)
		}
	}
	strs := []struct {
		name, got, want string
	}{
		{"rc.conf", DefaultRCConf, "/etc/rc.conf"},                       // libexec/rc/rc.subr, load_rc_config: /etc/rc.conf
		{"resolv.conf", DefaultResolvConf, "/etc/resolv.conf"},           // include/resolv.h, _PATH_RESCONF
		{"run dir", DefaultRunDir, "/var/run"},                           // include/paths.h, _PATH_VARRUN (less its trailing slash)
		{"resolvconf state", DefaultResolvconfDB, "/var/run/resolvconf"}, // sbin/resolvconf/Makefile, VARDIR (substituted for @VARDIR@ in contrib/openresolv)
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
		}
	}
}

// TestContractDhclientPidfile: dhclient(8)'s pidfile is
// /var/run/dhclient/dhclient.IF.pid (sbin/dhclient/dhcpd.h,
// _PATH_DHCLIENT_PID "/var/run/dhclient/dhclient.%s.pid"; libexec/rc/rc.d/dhclient
// uses the same), and /var/run/dhclient.IF.pid before FreeBSD 12.
func TestContractDhclientPidfile(t *testing.T) {
	pid := fmt.Sprintf("%d\n", os.Getpid())
	for _, rel := range []string{"dhclient/dhclient.hn3.pid", "dhclient.hn3.pid"} {
		run := t.TempDir()
		p := filepath.Join(run, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if dhclientRunning(run, "-", "hn3") {
			t.Fatalf("%s: running before the pidfile exists", rel)
		}
		if err := os.WriteFile(p, []byte(pid), 0o644); err != nil {
			t.Fatal(err)
		}
		if !dhclientRunning(run, "-", "hn3") {
			t.Errorf("pidfile %s of a live process not seen", rel)
		}
	}
}

// rtMsghdrLayout is struct rt_msghdr of sys/net/route.h, field by field,
// with C's alignment on LP64 (amd64, arm64: u_long is 8 bytes).
var rtMsghdrLayout = []struct {
	name        string
	size, align uintptr
}{
	{"rtm_msglen", 2, 2},  // u_short
	{"rtm_version", 1, 1}, // u_char
	{"rtm_type", 1, 1},    // u_char
	{"rtm_index", 2, 2},   // u_short
	{"_rtm_spare1", 2, 2}, // u_short
	{"rtm_flags", 4, 4},   // int
	{"rtm_addrs", 4, 4},   // int
	{"rtm_pid", 4, 4},     // pid_t
	{"rtm_seq", 4, 4},     // int
	{"rtm_errno", 4, 4},   // int
	{"rtm_fmask", 4, 4},   // int
	{"rtm_inits", 8, 8},   // u_long
	// struct rt_metrics: 14 u_long (rmx_locks ... rmx_nhidx, rmx_filler[2])
	{"rtm_rmx", 14 * 8, 8},
}

func rtLayout() (map[string]uintptr, uintptr) {
	off := map[string]uintptr{}
	var at, maxAlign uintptr = 0, 1
	for _, f := range rtMsghdrLayout {
		at = (at + f.align - 1) &^ (f.align - 1)
		off[f.name] = at
		at += f.size
		maxAlign = max(maxAlign, f.align)
	}
	return off, (at + maxAlign - 1) &^ (maxAlign - 1)
}

// TestContractRtMsghdr pins the hand-written layout; the FreeBSD test
// compares the same numbers with x/sys/unix.RtMsghdr, which
// golang.org/x/net/route decodes the routing table with.
func TestContractRtMsghdr(t *testing.T) {
	off, size := rtLayout()
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct rt_msghdr)", size, rtMsghdrSize},  // sys/net/route.h, struct rt_msghdr
		{"rtm_index", off["rtm_index"], rtMsghdrOffIndex}, // sys/net/route.h, rt_msghdr.rtm_index
		{"rtm_flags", off["rtm_flags"], rtMsghdrOffFlags}, // sys/net/route.h, rt_msghdr.rtm_flags
		{"rtm_addrs", off["rtm_addrs"], rtMsghdrOffAddrs}, // sys/net/route.h, rt_msghdr.rtm_addrs
		{"rtm_inits", off["rtm_inits"], 32},               // sys/net/route.h, rt_msghdr.rtm_inits
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}

// The rt_msghdr facts both tests compare with (amd64 and arm64 agree).
const (
	rtMsghdrSize     = 152 // sys/net/route.h, sizeof(struct rt_msghdr) on LP64
	rtMsghdrOffIndex = 4   // sys/net/route.h, rt_msghdr.rtm_index
	rtMsghdrOffFlags = 8   // sys/net/route.h, rt_msghdr.rtm_flags
	rtMsghdrOffAddrs = 12  // sys/net/route.h, rt_msghdr.rtm_addrs
)
