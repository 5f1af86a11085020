package vss

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/msgio"
	"github.com/hvagent/hvagent/internal/seqpacket"
)

// Device paths. DefaultDevice is the only name FreeBSD's hv_vss creates
// for the daemon (FS_VSS_DEV_NAME in sys/dev/hyperv/utilities/
// hv_snapshot.h; the other, hv_appvss_dev, belongs to applications).
// AliasDevice is accepted as a name only: no FreeBSD release creates it,
// but a symlink an administrator made, or an older third-party setup, may
// point there. It is tried when DefaultDevice does not exist.
const (
	DefaultDevice = "/dev/hv_fsvss_dev"
	AliasDevice   = "/dev/hv_fsfreeze_dev"
)

// Transport carries 64-byte messages between the daemon and the kernel:
// the FreeBSD device (IOCHVVSSREAD/IOCHVVSSWRITE) or a SOCK_SEQPACKET
// socket (the socket transport of hvagent(8), --kvp.device and
// --vss.device).
type Transport = msgio.Transport

// ErrWrongSize reports a datagram that is not MsgSize bytes; it is dropped.
var ErrWrongSize = errors.New("vss: message of wrong size")

// ErrBusy reports that another process holds the device.
var ErrBusy = errors.New("vss: device busy")

var busyRemedy = msgio.BusyRemedy("VSS", "hv_vss_daemon")

// Open connects to the kernel at path in the FreeBSD protocol: opening
// is registering. It is OpenProtocol with ProtocolFreeBSD.
func Open(ctx context.Context, path string) (Transport, error) {
	return OpenProtocol(ctx, path, ProtocolFreeBSD)
}

// OpenProtocol connects to the kernel at path; a Unix socket selects the
// socket transport, whose datagrams are proto's messages. For the
// FreeBSD protocol, if path is the default device and does not exist, the
// alias is tried. A device that does not exist, may not be opened, or
// cannot exist on this system is a final error (agent.Final). The Linux
// handshake (REGISTER1) is the caller's: see Protocol.register.
func OpenProtocol(ctx context.Context, path string, proto Protocol) (Transport, error) {
	return openProtocol(ctx, path, proto, nil)
}

// openProtocol is OpenProtocol; waiting, if set, is told once that
// Linux's device node is missing and being waited for.
func openProtocol(ctx context.Context, path string, proto Protocol, waiting func(string, error)) (Transport, error) {
	if proto == ProtocolLinux {
		return openLinux(ctx, path, waiting)
	}
	path, fi, err := statDevice(path)
	if err != nil {
		return nil, agent.FinalIfUnavailable(err)
	}
	if fi.Mode().Type() == os.ModeSocket {
		c, err := dialSocket(ctx, path, MsgSize)
		if err != nil {
			return nil, agent.FinalIfUnavailable(err) // not a Transport holding a nil *Conn
		}
		return c, nil
	}
	t, err := nativeDevice(path)
	if err != nil {
		return nil, agent.FinalIfUnavailable(err)
	}
	return t, nil
}

// openLinux opens a socket at path with Linux-sized datagrams, or else
// Linux's character device, whose node may appear only later.
func openLinux(ctx context.Context, path string, waiting func(string, error)) (Transport, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Type() == os.ModeSocket {
		c, err := dialSocket(ctx, path, LinuxMsgSize)
		if err != nil {
			return nil, agent.FinalIfUnavailable(err)
		}
		return c, nil
	}
	t, err := linuxDevice(ctx, path, waiting)
	if err != nil {
		return nil, agent.FinalIfUnavailable(err)
	}
	return t, nil
}

// nativeDeviceUnsupported is the error for FreeBSD's device where it
// cannot exist.
func nativeDeviceUnsupported(path string) (Transport, error) {
	return nil, fmt.Errorf("vss: %s is not a socket, and the FreeBSD VSS device exists only on FreeBSD (see --vss.protocol): %w", path, errors.ErrUnsupported)
}

func dialSocket(ctx context.Context, path string, size int) (*seqpacket.Conn, error) {
	return seqpacket.Dial(ctx, path, "vss", size, ErrWrongSize)
}
