package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/netinfo"
)

// kvpConfig is the KVP subsystem's configuration from the --kvp.* flags,
// with its metrics registered on reg. ip answers GET_IP_INFO and
// SET_IP_INFO, and its Addrs are the auto pool's NetworkAddressIPv4/IPv6,
// so the host sees one set of addresses.
func kvpConfig(f *daemonFlags, ip *netinfo.Service, reg prometheus.Registerer) kvp.Config {
	return kvp.Config{
		Device:     f.kvpDevice,
		Protocol:   f.kvpProto,
		Version:    agent.Version,
		PoolDir:    f.kvpPoolDir,
		MaxRecords: f.kvpMaxRecs,
		IP:         ip,
		Addrs:      ip.Addrs,
		Metrics:    kvp.NewMetrics(reg),
	}
}
