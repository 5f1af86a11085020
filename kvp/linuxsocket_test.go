//go:build unix

package kvp_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// OpenProtocol with Linux over the socket transport: REGISTER1 out, the
// kernel's REGISTER1 answer read before anything else, the kernel's
// version kept; against a FreeBSD kernel, or a peer whose first
// datagram is not the answer, registration fails and the connection is
// closed.
func TestLinuxSocketHandshake(t *testing.T) {
	dir, err := os.MkdirTemp("", "kvpl") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("linux kernel", func(t *testing.T) {
		k, err := kvptest.NewKernel(filepath.Join(dir, "linux"), kvptest.KernelOptions{Protocol: kvp.Linux})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		tr, err := kvp.OpenProtocol(ctx, kvp.Linux, k.Path(), "0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		kv, ok := tr.(interface{ KernelVersion() string })
		if !ok || kv.KernelVersion() != kvp.LinuxDriverVersion {
			t.Errorf("kernel version not kept: %T", tr)
		}
		if s := k.Stats(); s.Registrations != 1 || s.BadRegisters != 0 {
			t.Errorf("kernel stats %+v", s)
		}
	})
	t.Run("freebsd kernel", func(t *testing.T) {
		k, err := kvptest.NewKernel(filepath.Join(dir, "freebsd"), kvptest.KernelOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		if tr, err := kvp.OpenProtocol(ctx, kvp.Linux, k.Path(), "0.0.1"); err == nil {
			tr.Close()
			t.Fatal("registered as a Linux daemon with a FreeBSD kernel")
		}
		if s := k.Stats(); s.BadRegisters != 1 {
			t.Errorf("kernel stats %+v, want BadRegisters 1", s)
		}
	})
	t.Run("a request instead of the answer", func(t *testing.T) {
		path := filepath.Join(dir, "odd")
		ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			defer c.Close()
			c.Read(make([]byte, 64<<10))
			req, _ := kvp.Linux.EncodeRequest(kvp.Msg{Op: kvp.OpGet, Pool: 1, KV: kvp.KeyValue{Key: "k"}})
			c.Write(req)
			c.Read(make([]byte, 64<<10)) // until the agent closes
		}()
		if tr, err := kvp.OpenProtocol(ctx, kvp.Linux, path, "0.0.1"); err == nil {
			tr.Close()
			t.Fatal("a GET was taken for the REGISTER1 answer")
		}
	})
}
