package kvptest

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// The Linux kernel's registration (drivers/hv/hv_kvp.c,
// kvp_handle_handshake and kvp_register): a 7432-byte REGISTER1 first,
// answered with a 7432-byte REGISTER1 carrying "3.1" before any request.
// FreeBSD's REGISTER (4), which the real kernel would accept and then
// ignore the replies' status for, is refused here so a daemon that sends
// it fails its tests; so is a message of FreeBSD's size.
func TestLinuxKernelRegistration(t *testing.T) {
	fbsd := kvp.EncodeRegister("x")
	op4 := kvp.Linux.EncodeRegister("x")
	op4[0] = byte(kvp.OpRegister)
	for _, tc := range []struct {
		name  string
		first []byte
	}{{"FreeBSD REGISTER", fbsd}, {"REGISTER (4) of 7432 bytes", op4}, {"REGISTER1 of 7430 bytes", kvp.Linux.EncodeRegister("x")[:kvp.MsgSize]}} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKernelProto(t, 0, kvp.Linux)
			c := dial(t, k)
			if _, err := c.Write(tc.first); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, kvp.LinuxMsgSize+1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read = %d, %v; want the connection closed", n, err)
			}
			if s := k.Stats(); s != (KernelStats{BadRegisters: 1}) {
				t.Errorf("Stats = %+v; want only BadRegisters 1", s)
			}
			startDaemon(t, k, echo) // reads the REGISTER1 answer
			doGet(t, k, "after")
		})
	}
}

// The Linux kernel reads GET's value at offset 532 (hv_kvp.c,
// kvp_respond_to_host through body.kvp_enum_data): a daemon that puts it
// at 528, where FreeBSD's kernel and the GET/SET struct put it, gets its
// value to the host cut by four bytes. Requests and replies are 7432
// bytes; a reply of 7430 is dropped, as the kernel refuses it.
func TestLinuxKernelGetValueAt532(t *testing.T) {
	k := newKernelProto(t, time.Second, kvp.Linux)
	c := dial(t, k)
	registerProto(t, c, kvp.Linux)
	if err := k.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	sizes := make(chan int, 3)
	go func() {
		buf := make([]byte, 64<<10)
		for i := 0; ; i++ {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			sizes <- n
			reply := make([]byte, kvp.LinuxMsgSize)
			binary.LittleEndian.PutUint32(reply, uint32(kvp.StatusOK))
			copy(reply[528:], "ABCDEFGH\x00") // the GET/SET struct's value field
			if i == 1 {
				reply = reply[:kvp.MsgSize] // FreeBSD's size: refused
			}
			if _, err := c.Write(reply); err != nil {
				return
			}
		}
	}()
	h := NewHost(k)
	v, st, err := h.Get(ctxT(t, 5*time.Second), kvp.PoolGuest, "k")
	if err != nil || st != kvp.StatusOK || v != "EFGH" {
		t.Errorf("GET = %q, %v, %v; want \"EFGH\": the value read at 532", v, st, err)
	}
	if _, _, err := h.Get(ctxT(t, 5*time.Second), kvp.PoolGuest, "k"); !errors.Is(err, ErrTimeout) {
		t.Errorf("GET answered with 7430 bytes: %v, want ErrTimeout", err)
	}
	if n := <-sizes; n != kvp.LinuxMsgSize {
		t.Errorf("request of %d bytes, want %d", n, kvp.LinuxMsgSize)
	}
	if s := k.Stats(); s.BadReplies != 1 {
		t.Errorf("Stats = %+v; want BadReplies 1", s)
	}
}
