package vss

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
)

// Device paths: the FreeBSD kernel's name and its older alias.
const (
	DefaultDevice = "/dev/hv_fsvss_dev"
	AliasDevice   = "/dev/hv_fsfreeze_dev"
)

// Transport carries 64-byte messages between the daemon and the kernel:
// the FreeBSD device (IOCHVVSSREAD/IOCHVVSSWRITE) or a SOCK_SEQPACKET
// socket (SPEC §6).
type Transport interface {
	// Read blocks until the kernel hands over one request or ctx ends. A
	// datagram of the wrong size returns an error wrapping ErrWrongSize;
	// the transport stays usable.
	Read(ctx context.Context, buf []byte) (int, error)
	Write(b []byte) error
	Close() error
}

// ErrWrongSize reports a datagram that is not MsgSize bytes; it is dropped.
var ErrWrongSize = errors.New("vss: message of wrong size")

// ErrBusy reports that another process holds the device.
var ErrBusy = errors.New("vss: device busy")

const busyRemedy = "another VSS daemon holds the device, usually the base system's hv_vss_daemon, which devd starts: " +
	"stop it with 'pkill -x hv_vss_daemon' and disable its rule in /etc/devd/hyperv.conf so devd does not start it again " +
	"(see hvagent(8), BASE SYSTEM DAEMONS); hvagent keeps retrying and takes over once the device is free"

// Open connects to the kernel at path: opening is registering. A Unix
// socket selects the socket transport. If path is the default device and
// does not exist, the alias is tried.
func Open(ctx context.Context, path string) (Transport, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && path == DefaultDevice {
		if fi, err = os.Stat(AliasDevice); err == nil {
			path = AliasDevice
		}
	}
	if err != nil {
		return nil, fmt.Errorf("vss: device %s: %w", path, err)
	}
	if fi.Mode().Type() == os.ModeSocket {
		return dialSocket(ctx, path)
	}
	return openDevice(path)
}

type socketTransport struct {
	conn *net.UnixConn
	once sync.Once
}

func dialSocket(ctx context.Context, path string) (*socketTransport, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, fmt.Errorf("vss: connect %s: %w", path, err)
	}
	return &socketTransport{conn: c.(*net.UnixConn)}, nil
}

func (s *socketTransport) Read(ctx context.Context, buf []byte) (int, error) {
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	n, err := s.conn.Read(buf)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("vss: read: %w", err)
	}
	if n == 0 {
		return 0, fmt.Errorf("vss: read: %w", net.ErrClosed) // peer closed
	}
	if n != MsgSize {
		return n, fmt.Errorf("%w: %d bytes", ErrWrongSize, n)
	}
	return n, nil
}

func (s *socketTransport) Write(b []byte) error {
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("vss: write: %w", err)
	}
	return nil
}

func (s *socketTransport) Close() error {
	var err error
	s.once.Do(func() { err = s.conn.Close() })
	return err
}
