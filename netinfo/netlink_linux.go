package netinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// nlSeq numbers dump requests, so replies to an earlier, abandoned one
// are told apart.
var nlSeq atomic.Uint32

// linuxLinks lists the interfaces with their index, MAC, master and
// addresses from rtnetlink (RTM_GETLINK and RTM_GETADDR dumps).
func linuxLinks() ([]Link, error) {
	links, _, err := netlinkRead(false)
	return links, err
}

// linuxRoutes lists the default routes of the main table, IPv4 then
// IPv6, from an RTM_GETROUTE dump, named through an RTM_GETLINK dump.
func linuxRoutes() ([]Route, error) {
	_, routes, err := netlinkRead(true)
	return routes, err
}

// netlinkRead dumps links and either addresses or routes on one socket.
// A dump the kernel marks interrupted (NLM_F_DUMP_INTR: the table changed
// while it ran) is read again, a few times at most.
func netlinkRead(routes bool) ([]Link, []Route, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("netinfo: rtnetlink socket: %w", err)
	}
	defer unix.Close(fd)
	buf := make([]byte, nlRecvBufSize)
	var lastErr error
	for range 4 {
		linkMsgs, err := netlinkDump(fd, buf, rtmGetLink, afUnspec)
		if err != nil {
			lastErr = err
			continue
		}
		second := uint16(rtmGetAddr)
		if routes {
			second = rtmGetRoute
		}
		msgs, err := netlinkDump(fd, buf, second, afUnspec)
		if err != nil {
			lastErr = err
			continue
		}
		if routes {
			return nil, buildRoutes(msgs, buildLinks(linkMsgs, nil)), nil
		}
		return buildLinks(linkMsgs, msgs), nil, nil
	}
	return nil, nil, lastErr
}

var errDumpIntr = errors.New("netinfo: rtnetlink dump interrupted by a change")

// netlinkDump sends one dump request and collects its messages until
// NLMSG_DONE. Messages with another sequence number are dropped.
func netlinkDump(fd int, buf []byte, typ uint16, family uint8) ([]nlMsg, error) {
	seq := nlSeq.Add(1)
	if err := unix.Sendto(fd, dumpRequest(typ, family, seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netinfo: rtnetlink dump %d: %w", typ, err)
	}
	var out []nlMsg
	intr := false
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("netinfo: rtnetlink dump %d: %w", typ, err)
		}
		msgs, err := splitNetlink(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("netinfo: rtnetlink dump %d: %w", typ, err)
		}
		for _, m := range msgs {
			if m.seq != seq {
				continue
			}
			intr = intr || m.flags&nlmFDumpIntr != 0
			switch m.typ {
			case nlmsgDone:
				if intr {
					return nil, errDumpIntr
				}
				return out, nil
			case nlmsgError:
				if e := nlError(m.data); e != 0 {
					return nil, fmt.Errorf("netinfo: rtnetlink dump %d: %w", typ, e)
				}
			default:
				// The payload aliases buf, which the next read reuses.
				m.data = append([]byte(nil), m.data...)
				out = append(out, m)
			}
		}
	}
}

// nlError is the errno of an NLMSG_ERROR (struct nlmsgerr's negative
// error first), 0 for an acknowledgement.
func nlError(b []byte) unix.Errno {
	if len(b) < nlmsgErrLen {
		return unix.EIO
	}
	return unix.Errno(-int32(binary.NativeEndian.Uint32(b)))
}
