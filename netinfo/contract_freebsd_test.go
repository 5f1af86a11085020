//go:build freebsd

package netinfo

import (
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The routing-socket facts SystemRoutes relies on, checked where it is
// compiled: GOOS=freebsd go vet type-checks this file for amd64 and
// arm64, where every value is the same (LP64). FetchRIB(AF_INET,
// RIBTypeRoute, 0) is sysctl {CTL_NET, PF_ROUTE, 0, af, NET_RT_DUMP, 0}.
func TestContractRoutingSocket(t *testing.T) {
	var m unix.RtMsghdr
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct rt_msghdr)", unsafe.Sizeof(m), rtMsghdrSize}, // sys/net/route.h, struct rt_msghdr
		{"SizeofRtMsghdr", unix.SizeofRtMsghdr, rtMsghdrSize},        // sys/net/route.h, struct rt_msghdr
		{"rtm_index", unsafe.Offsetof(m.Index), rtMsghdrOffIndex},    // sys/net/route.h, rt_msghdr.rtm_index
		{"rtm_flags", unsafe.Offsetof(m.Flags), rtMsghdrOffFlags},    // sys/net/route.h, rt_msghdr.rtm_flags
		{"rtm_addrs", unsafe.Offsetof(m.Addrs), rtMsghdrOffAddrs},    // sys/net/route.h, rt_msghdr.rtm_addrs
		{"RTM_VERSION", unix.RTM_VERSION, 5},                         // sys/net/route.h, RTM_VERSION
		{"RTF_GATEWAY", syscall.RTF_GATEWAY, 0x2},                    // sys/net/route.h, RTF_GATEWAY
		{"RTAX_DST", syscall.RTAX_DST, 0},                            // sys/net/route.h, RTAX_DST
		{"RTAX_GATEWAY", syscall.RTAX_GATEWAY, 1},                    // sys/net/route.h, RTAX_GATEWAY
		{"RTAX_NETMASK", syscall.RTAX_NETMASK, 2},                    // sys/net/route.h, RTAX_NETMASK
		{"AF_INET", syscall.AF_INET, 2},                              // sys/sys/socket.h, AF_INET
		{"AF_INET6", syscall.AF_INET6, 28},                           // sys/sys/socket.h, AF_INET6
		{"PF_ROUTE", unix.AF_ROUTE, 17},                              // sys/sys/socket.h, AF_ROUTE
		{"CTL_NET", unix.CTL_NET, 4},                                 // sys/sys/sysctl.h, CTL_NET
		{"NET_RT_DUMP", unix.NET_RT_DUMP, 1},                         // sys/sys/socket.h, NET_RT_DUMP
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
