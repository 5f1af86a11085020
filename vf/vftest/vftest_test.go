package vftest

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestDevdRestart(t *testing.T) {
	d, err := NewDevd(filepath.Join(t.TempDir(), "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func() net.Conn {
		c, err := net.Dial("unixpacket", d.Path())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WaitClients(ctx, 1); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := dial()
	buf := make([]byte, 256)
	d.Send("!system=IFNET subsystem=mce0 type=DETACH")
	d.Send("!system=IFNET subsystem=mce0 type=ATTACH")
	for _, want := range []string{"!system=IFNET subsystem=mce0 type=DETACH\n", "!system=IFNET subsystem=mce0 type=ATTACH\n"} {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("record %q, %v; want %q (one event per record)", buf[:n], err, want)
		}
	}
	if err := d.Restart(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err == nil && n > 0 {
		t.Fatalf("read %q after the restart, want EOF", buf[:n])
	}
	c.Close()
	c = dial()
	defer c.Close()
	if d.Send("!system=IFNET subsystem=hn0 type=LINK_UP") != 1 {
		t.Fatal("the new client did not get the event")
	}
}
