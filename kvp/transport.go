package kvp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/msgio"
	"github.com/hvagent/hvagent/internal/seqpacket"
)

// Transport carries whole messages between the daemon and the kernel: the
// FreeBSD character device, or a SOCK_SEQPACKET socket (hvagent(8), --kvp.device). Above it
// everything is the same code.
type Transport = msgio.Transport

// ErrWrongSize reports a message that is not the protocol's size
// (MsgSize, LinuxMsgSize); it is answered HV_E_FAIL.
var ErrWrongSize = errors.New("kvp: message of wrong size")

// ErrReplyRefused reports a reply the driver refused with EINVAL: an
// operation hv_kvp.c does not convert back. The host already has its
// answer, so it is logged, not a reason to reopen the device.
var ErrReplyRefused = errors.New("kvp: reply refused by the driver")

// ErrBusy reports that another process holds the device.
var ErrBusy = errors.New("kvp: device busy")

// busyRemedy tells the administrator how to free the device.
var busyRemedy = msgio.BusyRemedy("KVP", "hv_kvp_daemon")

// ReadBufSize is large enough to notice datagrams longer than MsgSize
// (FreeBSD; Protocol.ReadBufSize for either).
const ReadBufSize = MsgSize + 1

// Open connects to the FreeBSD kernel at path and registers as the
// daemon: OpenProtocol with FreeBSD.
func Open(ctx context.Context, path, version string) (Transport, error) {
	return OpenProtocol(ctx, FreeBSD, path, version)
}

// OpenProtocol connects to p's kernel at path and registers as the
// daemon (on Linux, the REGISTER1 handshake of linuxconn.go): connect,
// then register.
func OpenProtocol(ctx context.Context, p Protocol, path, version string) (Transport, error) {
	t, err := connect(ctx, p, path, nil)
	if err != nil {
		return nil, err
	}
	return register(ctx, p, t, path, version)
}

// connect opens p's kernel at path without registering. A Unix socket
// selects the socket transport; anything else is opened as p's character
// device. FreeBSD's device must exist; Linux's appears only once the host
// offers the service and may come and go, so a missing Linux node is
// waited for (waiting, if set, is told once) until ctx ends. A device
// that does not exist (FreeBSD), may not be opened, or cannot exist on
// this system is a final error (agent.Final).
func connect(ctx context.Context, p Protocol, path string, waiting func(path string, err error)) (Transport, error) {
	fi, err := os.Stat(path)
	if err != nil && !(p == Linux && errors.Is(err, fs.ErrNotExist)) {
		return nil, agent.FinalIfUnavailable(fmt.Errorf("kvp: device %s: %w", path, err))
	}
	var t Transport
	if err == nil && fi.Mode().Type() == os.ModeSocket {
		t, err = dialSocket(ctx, path, p)
	} else {
		t, err = nativeDevice(ctx, p, path, waiting)
	}
	if err != nil {
		return nil, agent.FinalIfUnavailable(err)
	}
	return t, nil
}

// register sends p's registration message, through Register where the
// transport has one (the FreeBSD device: write(2), not the reply's
// pwrite). On Linux it then reads the kernel's answer (linuxconn.go).
func register(ctx context.Context, p Protocol, t Transport, path, version string) (Transport, error) {
	msg := p.EncodeRegister(version)
	var err error
	if r, ok := t.(interface{ Register([]byte) error }); ok {
		err = r.Register(msg)
	} else {
		err = t.Write(msg)
	}
	if err == nil && p == Linux {
		var c *linuxConn
		if c, err = linuxHandshake(ctx, t); err == nil {
			return c, nil
		}
	}
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("kvp: register on %s: %w", path, err)
	}
	return t, nil
}

func dialSocket(ctx context.Context, path string, p Protocol) (*seqpacket.Conn, error) {
	return seqpacket.Dial(ctx, path, "kvp", p.MsgSize(), ErrWrongSize)
}
