//go:build unix

package kvp

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/msgio"
)

// linuxBusyRemedy tells a Linux administrator how to free the device.
var linuxBusyRemedy = msgio.LinuxBusyRemedy("KVP")

// openLinuxDevice opens Linux's KVP device at path through sys, as
// chardev.LinuxDevice speaks hv_utils_transport.c: it waits while the
// node is missing (waiting is told once), reads only after poll reported
// POLLIN, closes at once on POLLERR|POLLHUP (chardev.ErrGone), and a
// reply refused with EINVAL (chardev.ErrTransactionGone: late, or after
// hibernation) is an error, so the subsystem closes, reopens and
// registers again, as tools/hv/hv_kvp_daemon.c does. Every message is
// LinuxMsgSize bytes; registration is register's (REGISTER1, then the
// kernel's answer).
func openLinuxDevice(ctx context.Context, sys chardev.Sys, path string, waiting func(string, error)) (Transport, error) {
	dev, err := chardev.OpenLinux(ctx, sys, path, chardev.LinuxOptions{MsgSize: LinuxMsgSize, Waiting: waiting})
	if errors.Is(err, chardev.ErrBusy) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBusy, path, linuxBusyRemedy)
	}
	if err != nil {
		return nil, fmt.Errorf("kvp: %w", err)
	}
	return dev, nil
}

// OpenLinuxVia opens Linux's KVP device at path through sys and
// registers, as OpenProtocol does for the kernel's device. Tests pass a
// model of the Linux driver (chardevtest.LinuxDevice), so this logic runs
// under go test.
func OpenLinuxVia(ctx context.Context, sys chardev.Sys, path, version string) (Transport, error) {
	t, err := openLinuxDevice(ctx, sys, path, nil)
	if err != nil {
		return nil, err
	}
	return register(ctx, Linux, t, path, version)
}
