//go:build unix

package kvp_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/chardev/chardevtest"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// blockingIP answers GET_IP_INFO only once release is closed.
type blockingIP struct{ release chan struct{} }

func (b blockingIP) GetIPInfo(req kvp.IPInfo) (kvp.IPInfo, kvp.Status) {
	<-b.release
	return req, kvp.StatusOK
}

func (b blockingIP) SetIPInfo(kvp.IPInfo) kvp.Status { return kvp.StatusOK }

// linuxRun runs the KVP subsystem on the Linux driver model d until the
// test ends; each Run's result is sent on the returned channel, and a
// Run that returned is started again, as the supervisor does.
func linuxRun(t *testing.T, d *chardevtest.LinuxDevice, ip kvp.IPConfig) <-chan error {
	t.Helper()
	dir := t.TempDir()
	sub := kvp.New(kvp.Config{
		Device:     chardev.LinuxKVPPath,
		Protocol:   kvp.Linux,
		Version:    "0.0.1",
		PoolDir:    filepath.Join(dir, "pool"),
		IP:         ip,
		LookupFQDN: func(context.Context) string { return "vm" },
		OpenTransport: func(ctx context.Context) (kvp.Transport, error) {
			return kvp.OpenLinuxVia(ctx, d.Sys(), chardev.LinuxKVPPath, "0.0.1")
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan error, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		env := &agent.Env{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		for ctx.Err() == nil {
			err := sub.Run(ctx, env)
			if ctx.Err() != nil {
				return
			}
			results <- err
		}
	}()
	t.Cleanup(func() {
		cancel()
		d.Close()
		<-done
		sub.Close()
	})
	return results
}

func linuxDevice(t *testing.T, present bool) *chardevtest.LinuxDevice {
	t.Helper()
	d := kvptest.NewLinuxDevice(chardevtest.LinuxOptions{Present: present})
	t.Cleanup(func() { d.Close() })
	return d
}

func linuxSet(t *testing.T, ctx context.Context, d *chardevtest.LinuxDevice, key, value string) {
	t.Helper()
	m, err := kvptest.LinuxDo(ctx, d, kvp.Msg{Op: kvp.OpSet, Pool: kvp.PoolGuest, KV: kvp.KeyValue{Key: key, Value: value}})
	if err != nil || m.Status != kvp.StatusOK {
		t.Fatalf("SET %s: %v, %v", key, m.Status, err)
	}
}

func linuxGet(t *testing.T, ctx context.Context, d *chardevtest.LinuxDevice, key, want string) {
	t.Helper()
	m, err := kvptest.LinuxDo(ctx, d, kvp.Msg{Op: kvp.OpGet, Pool: kvp.PoolGuest, KV: kvp.KeyValue{Key: key}})
	if err != nil || m.Status != kvp.StatusOK || m.KV.Value != want {
		t.Fatalf("GET %s = %q, %v, %v; want %q", key, m.KV.Value, m.Status, err, want)
	}
}

// A node that appears after the agent started is waited for, not a
// reason to give up; the agent registers with REGISTER1, reads the
// answer, then serves, reading only after POLLIN (no read ever sleeps in
// the driver), with GET's value where hv_kvp.c reads it.
func TestLinuxDeviceLateNode(t *testing.T) {
	d := linuxDevice(t, false)
	results := linuxRun(t, d, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitUntil(t, "the agent watches for the node", func() bool { return d.Stats().Watches > 0 })
	if d.Registered() || d.IsOpen() {
		t.Fatal("registered without a node")
	}
	d.Appear()
	if err := d.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	linuxSet(t, ctx, d, "late", "node")
	linuxGet(t, ctx, d, "late", "node")
	auto, err := kvptest.LinuxDo(ctx, d, kvp.Msg{Op: kvp.OpEnumerate, Pool: kvp.PoolAuto, Index: 1})
	if err != nil || auto.KV.Key != "IntegrationServicesVersion" || auto.KV.Value != kvp.LinuxDriverVersion {
		t.Errorf("auto pool index 1 = %+v, %v; want IntegrationServicesVersion %s", auto.KV, err, kvp.LinuxDriverVersion)
	}
	s := d.Stats()
	if s.SleptReads != 0 || s.SmallReads != 0 || s.RefusedWrites != 0 || s.Registrations != 1 {
		t.Errorf("stats %+v: want no sleeping or short read, no refused write, one registration", s)
	}
	if s.OpenFlags&unix.O_RDWR == 0 || s.OpenFlags&unix.O_CLOEXEC == 0 {
		t.Errorf("open flags %#o: want O_RDWR|O_CLOEXEC", s.OpenFlags)
	}
	select {
	case err := <-results:
		t.Errorf("Run returned: %v", err)
	default:
	}
}

// POLLERR|POLLHUP (hvutil_transport_destroy) closes the device at once,
// which the kernel's teardown waits for; when the node comes back the
// agent registers again.
func TestLinuxDeviceTeardown(t *testing.T) {
	d := linuxDevice(t, true)
	results := linuxRun(t, d, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	linuxSet(t, ctx, d, "before", "teardown")
	if err := d.Teardown(ctx); err != nil {
		t.Fatalf("teardown waited for a close that did not come: %v", err)
	}
	if err := <-results; !errors.Is(err, chardev.ErrGone) {
		t.Errorf("Run after teardown = %v, want chardev.ErrGone", err)
	}
	d.Appear()
	if err := d.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	linuxGet(t, ctx, d, "before", "teardown")
	if s := d.Stats(); s.Registrations != 2 || s.Teardowns != 1 || s.SleptReads != 0 {
		t.Errorf("stats %+v: want 2 registrations, 1 teardown, no sleeping read", s)
	}
}

// A reply the driver refuses with EINVAL (the request's 30 s passed)
// means the transaction is gone: the subsystem ends with
// chardev.ErrTransactionGone, the device is closed, and the next Run
// registers again and serves.
func TestLinuxDeviceLateReplyReopens(t *testing.T) {
	d := linuxDevice(t, true)
	ip := blockingIP{release: make(chan struct{})}
	results := linuxRun(t, d, ip)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	req, err := kvp.Linux.EncodeRequest(kvp.Msg{Op: kvp.OpGetIPInfo, IP: kvp.IPInfo{AdapterID: "00:15:5D:00:00:01"}})
	if err != nil {
		t.Fatal(err)
	}
	// The driver's deadline passes while the agent is still answering.
	if _, err := d.Request(ctx, req, 50*time.Millisecond); !errors.Is(err, chardevtest.ErrTimeout) {
		t.Fatalf("slow request: %v, want the model's timeout", err)
	}
	close(ip.release)
	if err := <-results; !errors.Is(err, chardev.ErrTransactionGone) {
		t.Fatalf("Run after a refused reply = %v, want chardev.ErrTransactionGone", err)
	}
	waitUntil(t, "registered again", func() bool { return d.Stats().Registrations == 2 && d.Registered() })
	linuxSet(t, ctx, d, "after", "reopen")
	linuxGet(t, ctx, d, "after", "reopen")
	if s := d.Stats(); s.RefusedWrites != 1 || s.SleptReads != 0 {
		t.Errorf("stats %+v: want one refused write, no sleeping read", s)
	}
}
