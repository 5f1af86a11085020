package netinfo

import (
	"strings"
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

// longLine is a comment far beyond bufio.Scanner's 64 KiB line limit.
var longLine = "# " + strings.Repeat("x", 100<<10) + "\n"

// A resolv.conf with 100 KiB lines before and after the lines that
// matter is rewritten whole: the new nameserver where the old one was,
// and every other line, the long ones included, as it was.
func TestSetIPInfoResolvConfLongLines(t *testing.T) {
	e := newApplyEnv(t, nil)
	write(t, e.dir+"/resolv.conf", longLine+"search corp.example\nnameserver 10.0.0.2\n"+longLine+"options edns0\n")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.99", SubNet: "/24", DNSAddr: "192.0.2.53"}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	want := longLine + "search corp.example\nnameserver 192.0.2.53\n" + longLine + "options edns0\n"
	if got := e.file("resolv.conf"); got != want {
		t.Errorf("resolv.conf of %d bytes, want %d: the lines after a long one were dropped", len(got), len(want))
	}
}

// rc.conf variables after a 100 KiB line are read: GET_IP_INFO reports
// the DHCP that ifconfig_hn0 asks for.
func TestGetIPInfoRCConfLongLines(t *testing.T) {
	e := newApplyEnv(t, nil)
	write(t, e.rc(), longLine+"hostname=\"vm1\"\n"+longLine+"ifconfig_hn0=\"DHCP\"\n"+longLine)
	info, st := e.svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN0})
	if st != kvp.StatusOK || info.DHCPEnabled != 1 {
		t.Errorf("GET_IP_INFO: %v, DHCP enabled %d; want 1: ifconfig_hn0 after a long line was not read", st, info.DHCPEnabled)
	}
}
