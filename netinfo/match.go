package netinfo

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

var errBadMAC = errors.New("adapter_id is not a MAC address")

// parseMAC reads the host's adapter_id: six hex octets separated by ':'
// or '-' ("00-15-5D-0A-0B-0C"), or not separated at all as WMI writes
// them ("00155D0A0B0C"), in either case.
func parseMAC(s string) (net.HardwareAddr, error) {
	switch len(s) {
	case 17:
		sep := s[2]
		if sep != ':' && sep != '-' || strings.Count(s, string(sep)) != 5 {
			return nil, errBadMAC
		}
		s = strings.ReplaceAll(s, "-", ":")
	case 12:
		s = s[0:2] + ":" + s[2:4] + ":" + s[4:6] + ":" + s[6:8] + ":" + s[8:10] + ":" + s[10:12]
	default:
		return nil, errBadMAC
	}
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, errBadMAC
	}
	return mac, nil
}

// pickLink returns the interface among links with hardware address mac
// that carries the addresses: interfaces with addresses (other than
// link-local ones) first, then by
// kindRank (laggN, hnN, others, VFs), then in kernel order. An
// interface enslaved to another with the same MAC is never taken: on
// Linux that is the VF under its synthetic NIC (hv_netvsc links it with
// netdev_master_upper_dev_link, so its IFLA_MASTER is the NIC's index)
// or a bond's port. ok is false if no interface has that MAC.
func pickLink(links []Link, mac net.HardwareAddr) (Link, bool) {
	var cands []Link
	for _, l := range links {
		if bytes.Equal(l.MAC, mac) && !enslavedToSameMAC(links, l) {
			cands = append(cands, l)
		}
	}
	if len(cands) == 0 {
		return Link{}, false
	}
	slices.SortStableFunc(cands, func(a, b Link) int {
		if ha, hb := carriesAddrs(a), carriesAddrs(b); ha != hb {
			if ha {
				return -1
			}
			return 1
		}
		return kindRank(a.Name) - kindRank(b.Name)
	})
	return cands[0], true
}

// enslavedToSameMAC: l's master (Link.Master) is among links and has
// l's MAC.
func enslavedToSameMAC(links []Link, l Link) bool {
	if l.Master == 0 {
		return false
	}
	for _, m := range links {
		if m.Index == l.Master {
			return bytes.Equal(m.MAC, l.MAC)
		}
	}
	return false
}

// carriesAddrs: l has an address other than an IPv6 link-local one,
// which every interface with IPv6 up gets, a VF or a lagg port included.
func carriesAddrs(l Link) bool {
	for _, p := range l.Addrs {
		if !p.Addr().IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

// laggOf returns laggN when it exists with hnN's MAC: the failover lagg
// hyperv_vfup builds over hnN and its VF in non-transparent mode
// (fbsdnet.Lagg), which then carries hnN's configuration.
func laggOf(links []Link, hn string) (string, bool) {
	lagg, ok := fbsdnet.Lagg(hn)
	if !ok {
		return "", false
	}
	var hnMAC net.HardwareAddr
	for _, l := range links {
		if l.Name == hn {
			hnMAC = l.MAC
		}
	}
	for _, l := range links {
		if l.Name == lagg && len(hnMAC) > 0 && bytes.Equal(l.MAC, hnMAC) {
			return l.Name, true
		}
	}
	return "", false
}

func linkByName(links []Link, name string) (Link, bool) {
	for _, l := range links {
		if l.Name == name { // exact: hn1 must not match hn10
			return l, true
		}
	}
	return Link{}, false
}
