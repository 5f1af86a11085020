package netinfo

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

// BenchmarkGetIPInfo is the service time of one GET_IP_INFO through
// kvp.Service.Handle on the running system: decode, find the interface
// and its addresses, default routes, resolver configuration, rc.conf and
// dhclient state, format, encode. "cached" is the agent as it runs: what
// did not change since the last request comes from memory (sysCache; on
// Linux a netlink socket says whether links, addresses or routes
// changed). "read-every-time" reads the kernel's tables (a netlink dump
// per interface's addresses, /proc/net/route) and scans /proc for a
// dhclient for every request, as the agent did before. The C daemon
// forks several shell pipelines per address instead.
func BenchmarkGetIPInfo(b *testing.B) {
	links, err := SystemLinks()
	if err != nil {
		b.Fatal(err)
	}
	mac := ""
	for _, l := range links {
		if len(l.MAC) == 6 && len(l.Addrs) > 0 {
			mac = l.MAC.String()
			break
		}
	}
	if mac == "" {
		b.Skip("no interface with a MAC and addresses on this machine")
	}
	store, err := kvp.OpenStore(filepath.Join(b.TempDir(), "pool"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	req, err := kvp.EncodeRequest(kvp.Msg{Op: kvp.OpGetIPInfo, IP: kvp.IPInfo{AdapterID: mac}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"cached", Config{}},
		{"read-every-time", Config{Links: SystemLinks, Routes: SystemRoutes}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			svc := kvp.NewService(kvp.ServiceConfig{Store: store, IP: New(bc.cfg)})
			for b.Loop() {
				if st := kvp.Status(binary.LittleEndian.Uint32(svc.Handle(req))); st != kvp.StatusOK {
					b.Fatalf("status %v", st)
				}
			}
		})
	}
}
