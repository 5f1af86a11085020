package kvptest

import (
	"bytes"
	"encoding/binary"
	"net"

	"github.com/hvagent/hvagent/kvp"
)

// serve reads the daemon's datagrams until it goes away.
func (k *Kernel) serve(c *net.UnixConn) {
	defer k.disconnect(c)
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	if !k.proto.IsRegister(buf[:n]) {
		k.mu.Lock()
		k.stats.BadRegisters++
		k.mu.Unlock()
		k.log.Warn("registration failed: first message is not the protocol's registration",
			"protocol", k.proto.String(), "size", n, "want_size", k.proto.MsgSize(), "op", buf[0])
		return
	}
	// The answer is written under the lock that counts the registration,
	// so a daemon that has read the answer finds it in Stats.
	k.mu.Lock()
	if k.proto == kvp.Linux {
		// hv_kvp.c, kvp_handle_handshake -> kvp_register: the kernel
		// answers REGISTER1 with REGISTER1 and HV_DRV_VERSION, and posts
		// no request before the daemon has read it (the datagram order
		// gives the same here).
		if _, err := c.Write(kvp.Linux.EncodeRegister(kvp.LinuxDriverVersion)); err != nil {
			k.mu.Unlock()
			return
		}
	}
	k.registered, k.busy = true, false
	k.stats.Registrations++
	close(k.regCh)
	k.goneCh = make(chan struct{})
	k.mu.Unlock()
	k.log.Info("daemon registered")
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		k.deliver(bytes.Clone(buf[:n]))
	}
}

// deliver hands a reply to the outstanding request, or drops it.
func (k *Kernel) deliver(b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(b) != k.proto.MsgSize() {
		k.stats.BadReplies++
		k.log.Warn("reply of the wrong size ignored", "size", len(b), "want", k.proto.MsgSize())
		return
	}
	k.busy = false
	if t := k.cur; t != nil && t.sent {
		k.cur = nil
		t.reply <- result{b: b}
		return
	}
	k.stats.LateReplies++
	k.log.Warn("late reply dropped", "status", kvp.Status(binary.LittleEndian.Uint32(b)))
}

// disconnect is the daemon closing the device: it un-registers and fails
// the outstanding request. The state is cleared before c is closed, so a
// daemon that sees EOF can connect again at once.
func (k *Kernel) disconnect(c *net.UnixConn) {
	defer c.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conn = nil
	k.busy = false
	if k.registered {
		k.registered = false
		k.regCh = make(chan struct{})
		close(k.goneCh)
		k.log.Info("daemon closed the device; unregistered")
	}
	if t := k.cur; t != nil {
		k.cur = nil
		err := ErrGone
		if k.closed {
			err = ErrClosed
		}
		t.reply <- result{err: err}
	}
}
