package netinfo

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

// BenchmarkGetIPInfo is the service time of one GET_IP_INFO through
// kvp.Service.Handle on the running system: decode, list the interfaces
// and their addresses from the kernel, read the default routes, the
// resolver configuration, rc.conf and the dhclient state, format, encode.
// The C daemon forks several shell pipelines per address instead.
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
	// Linux has no dhclient pidfile convention, so the agent looks
	// through /proc; on FreeBSD (ProcDir "-", the default there) only the
	// pidfiles are read.
	for _, bc := range []struct{ name, proc string }{
		{"procfs-scan", DefaultProcDir},
		{"pidfiles-only", "-"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			svc := kvp.NewService(kvp.ServiceConfig{Store: store, IP: New(Config{ProcDir: bc.proc})})
			for b.Loop() {
				if st := kvp.Status(binary.LittleEndian.Uint32(svc.Handle(req))); st != kvp.StatusOK {
					b.Fatalf("status %v", st)
				}
			}
		})
	}
}
