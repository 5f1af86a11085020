// Package vss is the VSS subsystem: it answers the Hyper-V host's backup
// requests (CHECK, FREEZE, THAW) by freezing the guest's filesystems from a
// single-threaded freezer process, running hooks around the freeze, and
// thawing by itself when the host or the agent goes away (the driver is
// sys/dev/hyperv/utilities/hv_snapshot.c; hvagent(8), VSS BACKUPS). It
// speaks FreeBSD's or Linux's device protocol (wire.go, linuxwire.go;
// Linux's driver is drivers/hv/hv_snapshot.c), and on Linux plans the
// freeze by the Linux daemon's rule (linuxplan.go, linuxmounts.go).
//
// On Linux the device is /dev/vmbus/hv_vss, opened through package
// chardev (device_linux.go, linuxdevice.go), and the freezer child
// freezes with FIFREEZE and thaws with FITHAW (freezer_linux.go,
// child_linux.go). A Linux filesystem stays frozen when its freezer
// dies, so the child (child.go) blocks every signal, leaves the agent's
// process group and thaws when its pipe to the agent closes: only a
// SIGKILL of the child itself leaves a freeze.
//
// The character-device life cycle is package chardev's, the socket
// transport package seqpacket's, the trust of the hooks directory package
// fstrust's, and the hooks' processes run through package command.
package vss
