package netinfo

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The rtnetlink values linuxnl.go writes down from the Linux headers,
// against golang.org/x/sys/unix, which generates them from those headers.
func TestContractRtnetlink(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"sizeof(struct nlmsghdr)", nlmsgHdrLen, unix.SizeofNlMsghdr},
		{"NLMSG_ALIGNTO", nlmsgAlignTo, unix.NLMSG_ALIGNTO},
		{"NLMSG_ERROR", nlmsgError, unix.NLMSG_ERROR},
		{"NLMSG_DONE", nlmsgDone, unix.NLMSG_DONE},
		{"NLM_F_REQUEST", nlmFRequest, unix.NLM_F_REQUEST},
		{"NLM_F_DUMP", nlmFDump, unix.NLM_F_DUMP},
		{"NLM_F_DUMP_INTR", nlmFDumpIntr, unix.NLM_F_DUMP_INTR},
		{"nlmsgerr.error", nlmsgErrLen, int(unsafe.Sizeof(unix.NlMsgerr{}.Error))},
		{"RTM_NEWLINK", rtmNewLink, unix.RTM_NEWLINK},
		{"RTM_GETLINK", rtmGetLink, unix.RTM_GETLINK},
		{"RTM_NEWADDR", rtmNewAddr, unix.RTM_NEWADDR},
		{"RTM_GETADDR", rtmGetAddr, unix.RTM_GETADDR},
		{"RTM_NEWROUTE", rtmNewRoute, unix.RTM_NEWROUTE},
		{"RTM_GETROUTE", rtmGetRoute, unix.RTM_GETROUTE},
		{"RTA_ALIGNTO", rtaAlignTo, unix.RTA_ALIGNTO},
		{"sizeof(struct rtattr)", rtaHdrLen, unix.SizeofRtAttr},
		{"sizeof(struct rtmsg)", rtmsgLen, unix.SizeofRtMsg},
		{"sizeof(struct rtnexthop)", rtnhLen, unix.SizeofRtNexthop},
		{"RTA_DST", rtaDst, unix.RTA_DST},
		{"RTA_OIF", rtaOIF, unix.RTA_OIF},
		{"RTA_GATEWAY", rtaGateway, unix.RTA_GATEWAY},
		{"RTA_MULTIPATH", rtaMultipath, unix.RTA_MULTIPATH},
		{"RTA_TABLE", rtaTable, unix.RTA_TABLE},
		{"RT_TABLE_MAIN", rtTableMain, unix.RT_TABLE_MAIN},
		{"RTN_UNICAST", rtnUnicast, unix.RTN_UNICAST},
		{"sizeof(struct ifinfomsg)", ifinfomsgLen, unix.SizeofIfInfomsg},
		{"ifinfomsg.ifi_index", 4, int(unsafe.Offsetof(unix.IfInfomsg{}.Index))},
		{"IFLA_ADDRESS", iflaAddress, unix.IFLA_ADDRESS},
		{"IFLA_IFNAME", iflaIfname, unix.IFLA_IFNAME},
		{"IFLA_MASTER", iflaMaster, unix.IFLA_MASTER},
		{"sizeof(struct ifaddrmsg)", ifaddrmsgLen, unix.SizeofIfAddrmsg},
		{"ifaddrmsg.ifa_prefixlen", 1, int(unsafe.Offsetof(unix.IfAddrmsg{}.Prefixlen))},
		{"ifaddrmsg.ifa_index", 4, int(unsafe.Offsetof(unix.IfAddrmsg{}.Index))},
		{"IFA_ADDRESS", ifaAddress, unix.IFA_ADDRESS},
		{"IFA_LOCAL", ifaLocal, unix.IFA_LOCAL},
		{"rtmsg.rtm_dst_len", 1, int(unsafe.Offsetof(unix.RtMsg{}.Dst_len))},
		{"rtmsg.rtm_table", 4, int(unsafe.Offsetof(unix.RtMsg{}.Table))},
		{"rtmsg.rtm_type", 7, int(unsafe.Offsetof(unix.RtMsg{}.Type))},
		{"rtnexthop.rtnh_ifindex", 4, int(unsafe.Offsetof(unix.RtNexthop{}.Ifindex))},
		{"AF_UNSPEC", afUnspec, unix.AF_UNSPEC},
		{"AF_INET", afInet, unix.AF_INET},
		{"AF_INET6", afInet6, unix.AF_INET6},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
