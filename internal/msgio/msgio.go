// Package msgio holds what the KVP and VSS subsystems share about their
// kernel transports: the message-at-a-time interface that the FreeBSD and
// Linux character devices (internal/chardev) and the socket transport
// (internal/seqpacket) all implement, and the administrator's remedy,
// per system, when another daemon holds a device.
package msgio

import (
	"context"
	"fmt"
)

// Transport carries whole messages between a daemon and the kernel.
type Transport interface {
	// Read blocks until the kernel hands over one request or ctx ends.
	// A message of the wrong size returns an error wrapping the
	// subsystem's ErrWrongSize, and the transport stays usable.
	Read(ctx context.Context, buf []byte) (int, error)
	// Write sends one whole reply.
	Write(b []byte) error
	Close() error
}

// BusyRemedy tells the administrator how to free a device that another
// daemon holds: kind names the service ("KVP", "VSS") and daemon the base
// system's daemon that devd starts for it (hv_kvp_daemon, hv_vss_daemon,
// per FreeBSD's sbin/devd/hyperv.conf).
func BusyRemedy(kind, daemon string) string {
	return fmt.Sprintf("another %s daemon holds the device, usually the base system's %s, which devd starts: "+
		"'service hvagent start' (or restart) stops it, and the package's devd rules keep devd from starting it again "+
		"(run 'service devd restart' once after installing); without the package, stop it with 'pkill -x %s' "+
		"and disable its rule in /etc/devd/hyperv.conf (see hvagent(8), BASE SYSTEM DAEMONS); "+
		"hvagent keeps retrying and takes over once the device is free", kind, daemon, daemon)
}

// LinuxBusyRemedy tells a Linux administrator how to free a device that
// another daemon holds: kind names the service ("KVP", "VSS"). udev
// starts the distributions' daemons from the device nodes (Debian's
// 60-hyperv-daemons.rules, ENV{SYSTEMD_WANTS}), so disabling their units
// is not enough; masking them is, and both are masked at once because
// hvagent takes over both devices.
func LinuxBusyRemedy(kind string) string {
	return fmt.Sprintf("another %s daemon holds the device, usually the distribution's hyperv-daemons, which udev starts: "+
		"mask them, on Debian and Ubuntu with 'systemctl mask --now hv-kvp-daemon.service hv-vss-daemon.service', "+
		"on RHEL and Fedora with 'systemctl mask --now hypervkvpd.service hypervvssd.service' "+
		"('systemctl unmask' with the same names is the way back; see hvagent(8)); "+
		"hvagent keeps retrying and takes over once the device is free", kind)
}
