package netinfo

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseProcRoutes(t *testing.T) {
	v4 := `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth10	00000000	010200C0	0003	0	0	0	00000000	0	0	0
eth10	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth1	00000000	00000000	0001	0	0	0	00000000	0	0	0
`
	v6 := `00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000001 00000000 00000003 eth10
20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth10
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo
`
	got := append(parseProcRoute(strings.NewReader(v4)), parseProcIPv6Route(strings.NewReader(v6))...)
	want := []Route{
		{Link: "eth10", Gateway: netip.MustParseAddr("192.0.2.1")},
		{Link: "eth10", Gateway: netip.MustParseAddr("2001:db8::1")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("routes mismatch (-want +got):\n-%v\n+%v", want, got)
	}
}
