// Package netinfo answers the host's GET_IP_INFO and SET_IP_INFO KVP
// requests (struct hv_kvp_ipaddr_value in
// sys/dev/hyperv/utilities/hv_kvp.h; hvagent(8), NETWORK CONFIGURATION):
// it reports an adapter's addresses, subnets, default gateways, DNS
// servers and DHCP state, and applies a static or DHCP configuration the
// host pushes after a Hyper-V Replica failover.
//
// Everything here is plain Go tested on Linux; the only OS-specific code
// reads the default routes (routing socket on FreeBSD, procfs on Linux).
// Nothing the host sends ever reaches a shell: requests are parsed into
// net/netip values, and commands run as argument vectors found on PATH.
//
// The KVP message and its transport are package kvp's, which hands
// GET_IP_INFO and SET_IP_INFO here; rc.conf and the interface naming
// rules are package fbsdnet's; commands run through package command.
package netinfo
