package main

import (
	"log/slog"
	"net/netip"

	"github.com/hvagent/hvagent/metrics"
	"github.com/hvagent/hvagent/netinfo"
)

// newIPInfo builds the GET_IP_INFO / SET_IP_INFO handler of the KVP
// subsystem with the system's default paths (hvagent(8), NETWORK
// CONFIGURATION). Its Addrs is also the source of the auto pool's
// NetworkAddressIPv4/IPv6, so the host sees one set of addresses.
func newIPInfo(m *metrics.Metrics, log *slog.Logger) *netinfo.Service {
	return netinfo.New(netinfo.Config{Log: log, Metrics: netinfo.NewMetrics(m.Registry)})
}

// cliAddrs is the address source of 'hvagent kvp list|get' for the auto
// pool: the same as the daemon's.
func cliAddrs() ([]netip.Addr, error) { return netinfo.New(netinfo.Config{}).Addrs() }
