package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// machineMACs returns the MAC addresses of this machine's interfaces
// that carry addresses, written as Hyper-V writes them ("00-15-5D-..."),
// so the simulated host asks GET_IP_INFO about real adapters and the
// newcomer sees this machine's real configuration come back.
func machineMACs() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, ifc := range ifs {
		if len(ifc.HardwareAddr) != 6 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if addrs, err := ifc.Addrs(); err != nil || len(addrs) == 0 {
			continue
		}
		mac := strings.ToUpper(strings.ReplaceAll(ifc.HardwareAddr.String(), ":", "-"))
		if !seen[mac] {
			seen[mac] = true
			out = append(out, mac)
		}
	}
	return out
}

// reportIPInfo prints a GET_IP_INFO answer the way Hyper-V Manager's
// Networking tab would show it.
func (s *sim) reportIPInfo(e kvptest.Event) {
	if e.Err != nil || e.Status != kvp.StatusOK {
		s.printf("host: GET_IP_INFO %s: %s %v\n", e.MAC, e.Status, e.Err)
		return
	}
	dhcp := "no"
	if e.IP.DHCPEnabled != 0 {
		dhcp = "yes"
	}
	var parts []string
	for _, f := range [][2]string{
		{"addresses", e.IP.IPAddr}, {"subnets", e.IP.SubNet}, {"gateways", e.IP.Gateway},
		{"dns servers", e.IP.DNSAddr}, {"dhcp", dhcp},
	} {
		parts = append(parts, f[0]+" "+f[1])
	}
	s.printOnce("ip "+e.MAC, fmt.Sprintf("host: GET_IP_INFO %s: %s", e.MAC, e.Status), strings.Join(parts, ", "))
}
