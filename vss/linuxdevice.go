//go:build unix

package vss

import (
	"context"
	"errors"
	"fmt"

	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/msgio"
)

// The Linux kernel's VSS device, /dev/vmbus/hv_vss
// (drivers/hv/hv_utils_transport.c under hv_snapshot.c), through
// chardev.LinuxDevice: a raw close-on-exec descriptor, a read only after
// poll reported POLLIN, one whole 12-byte message per read. The node
// appears only once the host offers the Backup integration service, so
// a missing one is waited for; POLLERR|POLLHUP (the host withdrew it)
// returns an error wrapping chardev.ErrGone, and a reply the kernel
// refuses (EINVAL: too late, or the THAW injected before hibernation)
// one wrapping chardev.ErrTransactionGone. Either ends the subsystem's
// Run, which thaws first; the supervisor opens and registers again.

// openLinuxDevice opens the Linux VSS device at path through sys,
// waiting for the node; waiting, if set, is told once that it is
// missing. Registration (REGISTER1) is Protocol.register's.
func openLinuxDevice(ctx context.Context, sys chardev.Sys, path string, waiting func(path string, err error)) (Transport, error) {
	d, err := chardev.OpenLinux(ctx, sys, path, chardev.LinuxOptions{MsgSize: LinuxMsgSize, Waiting: waiting})
	if errors.Is(err, chardev.ErrBusy) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBusy, path, msgio.LinuxBusyRemedy("VSS"))
	}
	if err != nil {
		return nil, fmt.Errorf("vss: %w", err)
	}
	return d, nil
}

// OpenLinuxVia opens the Linux VSS device at path through sys, as the
// agent does on Linux. Tests pass a model of the Linux driver
// (chardevtest.LinuxDevice), so this logic runs under go test.
func OpenLinuxVia(ctx context.Context, sys chardev.Sys, path string) (Transport, error) {
	return openLinuxDevice(ctx, sys, path, nil)
}
