package vss

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Protocol is the kernel whose device protocol the subsystem speaks
// (--vss.protocol): FreeBSD's 64-byte hv_vss_opt_msg, where opening the
// device registers, or Linux's 12-byte hv_vss_msg with its REGISTER1
// handshake. Over the socket transport either runs on any system.
type Protocol int

// Protocols.
const (
	ProtocolFreeBSD Protocol = iota
	ProtocolLinux
)

// LinuxDevice is the misc device hv_utils creates for the daemon once the
// host offers the Backup integration service (drivers/hv/hv_snapshot.c,
// vss_devname "vmbus/hv_vss", which hv_vss_init hands to
// hvutil_transport_init).
const LinuxDevice = "/dev/vmbus/hv_vss"

// DefaultProtocol is the protocol of the system the agent runs on:
// Linux's on Linux, FreeBSD's elsewhere.
func DefaultProtocol() Protocol {
	if runtime.GOOS == "linux" {
		return ProtocolLinux
	}
	return ProtocolFreeBSD
}

// ParseProtocol accepts freebsd and linux.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "freebsd":
		return ProtocolFreeBSD, nil
	case "linux":
		return ProtocolLinux, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want freebsd or linux)", s)
}

func (p Protocol) String() string {
	if p == ProtocolLinux {
		return "linux"
	}
	return "freebsd"
}

// DefaultDevice is the device the protocol's kernel creates.
func (p Protocol) DefaultDevice() string {
	if p == ProtocolLinux {
		return LinuxDevice
	}
	return DefaultDevice
}

// MsgSize is the size of one request or reply.
func (p Protocol) MsgSize() int {
	if p == ProtocolLinux {
		return LinuxMsgSize
	}
	return MsgSize
}

// registerWait bounds the wait for the Linux kernel's answer to
// REGISTER1, which hv_snapshot.c queues as it takes the write.
const registerWait = 5 * time.Second

// errRegister marks a handshake the kernel did not complete as expected.
var errRegister = errors.New("vss: registration failed")

// register completes registration on a freshly opened transport. On
// FreeBSD opening was registering. On Linux the daemon writes REGISTER1
// and reads the kernel's 4-byte answer; no request comes before that
// read (hv_snapshot.c, vss_handle_handshake and vss_register_done).
func (p Protocol) register(ctx context.Context, t Transport) error {
	if p != ProtocolLinux {
		return nil
	}
	if err := t.Write(linuxRegister1()); err != nil {
		return fmt.Errorf("%w: write REGISTER1: %w", errRegister, err)
	}
	ctx, cancel := context.WithTimeout(ctx, registerWait)
	defer cancel()
	buf := make([]byte, LinuxMsgSize+1)
	n, err := t.Read(ctx, buf)
	// The answer is shorter than a message: the socket transport reports
	// it as a datagram of the wrong size, the device as a short read.
	if err != nil && !errors.Is(err, ErrWrongSize) {
		return fmt.Errorf("%w: read the answer to REGISTER1: %w", errRegister, err)
	}
	if err := checkLinuxRegisterReply(buf[:n]); err != nil {
		return fmt.Errorf("%w: %w", errRegister, err)
	}
	return nil
}

// decode parses one request in the protocol's format.
func (p Protocol) decode(b []byte) (Msg, error) {
	if p == ProtocolLinux {
		return decodeLinux(b)
	}
	return Decode(b)
}

// encode builds the reply to req with status st in the protocol's
// format: FreeBSD's echoes opt and msgid with status 0 or 1, Linux's
// carries only the HRESULT.
func (p Protocol) encode(req Msg, st Status) []byte {
	if p == ProtocolLinux {
		return encodeLinux(st)
	}
	return Reply(req, st).Encode()
}
