package netinfo

import (
	"errors"

	"golang.org/x/sys/unix"
)

// netWatchGroups are the rtnetlink multicast groups whose messages mean
// that what GET_IP_INFO reports may have changed: links, IPv4 and IPv6
// addresses and routes (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
// RTMGRP_IPV6_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE in Linux's
// include/uapi/linux/rtnetlink.h).
const netWatchGroups = unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR |
	unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE

// openNetWatch opens a non-blocking rtnetlink socket subscribed to
// netWatchGroups in this process's network namespace.
func openNetWatch() (*netWatch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: netWatchGroups}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &netWatch{fd: fd, buf: make([]byte, 16<<10)}, nil
}

// changed drains the socket and reports whether anything came since the
// last call. The kernel queues a group's message before the change's
// system call returns (rtnl_notify in net/core/rtnetlink.c), so a change
// made before this call is seen by it. A full queue is ENOBUFS
// (netlink_overrun in net/netlink/af_netlink.c): messages were lost, so
// that too counts as a change, as does any other error. A stream of
// changes that outlasts a few reads is a change without the rest read.
func (w *netWatch) changed() bool {
	changed := false
	for range 64 {
		n, err := unix.Read(w.fd, w.buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return changed
		case errors.Is(err, unix.EINTR):
		case err != nil && !errors.Is(err, unix.ENOBUFS):
			return true
		default:
			changed = changed || err != nil || n > 0
		}
	}
	return true
}
