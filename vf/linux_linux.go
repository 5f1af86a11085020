package vf

import (
	"errors"
	"sync"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rtnlLinks is rtnetlink for the Linux observer: one socket subscribed
// to the link group for events, and a short-lived one per dump, so that
// a dump's replies never mix with events.
type rtnlLinks struct {
	events *rtnetlink.Conn
	once   sync.Once
}

// dialLinks subscribes to RTNLGRP_LINK (RTMGRP_LINK = 1 <<
// (RTNLGRP_LINK-1), include/uapi/linux/rtnetlink.h): the kernel sends
// RTM_NEWLINK/RTM_DELLINK to it on every link change
// (net/core/rtnetlink.c, rtmsg_ifinfo), in the caller's network
// namespace.
func dialLinks() (linkSource, error) {
	c, err := rtnetlink.Dial(&netlink.Config{Groups: unix.RTMGRP_LINK})
	if err != nil {
		return nil, err
	}
	return &rtnlLinks{events: c}, nil
}

func (l *rtnlLinks) dump() ([]LinkUpdate, error) {
	c, err := rtnetlink.Dial(nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msgs, err := c.Link.List()
	if err != nil {
		return nil, err
	}
	out := make([]LinkUpdate, 0, len(msgs))
	for i := range msgs {
		out = append(out, linkUpdate(&msgs[i], false))
	}
	return out, nil
}

// receive blocks (in the netpoller, so Close ends it) until the kernel
// sends link messages. ENOBUFS says the socket's queue overflowed and
// messages were lost (net/netlink/af_netlink.c, netlink_overrun).
func (l *rtnlLinks) receive() ([]LinkUpdate, error) {
	rts, raw, err := l.events.Receive()
	if errors.Is(err, unix.ENOBUFS) {
		return nil, errOverrun
	}
	if err != nil {
		return nil, err
	}
	var out []LinkUpdate
	for i, m := range rts {
		lm, ok := m.(*rtnetlink.LinkMessage)
		if !ok || lm == nil {
			continue
		}
		switch raw[i].Header.Type {
		case unix.RTM_NEWLINK:
			out = append(out, linkUpdate(lm, false))
		case unix.RTM_DELLINK:
			out = append(out, linkUpdate(lm, true))
		}
	}
	return out, nil
}

func linkUpdate(m *rtnetlink.LinkMessage, deleted bool) LinkUpdate {
	u := LinkUpdate{Index: m.Index, Up: m.Flags&unix.IFF_UP != 0, Deleted: deleted}
	if a := m.Attributes; a != nil {
		u.Name = a.Name
		if a.Master != nil {
			u.Master = *a.Master
		}
	}
	return u
}

func (l *rtnlLinks) Close() error {
	var err error
	l.once.Do(func() { err = l.events.Close() })
	return err
}
