// Package vss is the VSS subsystem: it answers the Hyper-V host's backup
// requests (CHECK, FREEZE, THAW) by freezing the guest's filesystems from a
// single-threaded freezer process, running hooks around the freeze, and
// thawing by itself when the host or the agent goes away (the driver is
// sys/dev/hyperv/utilities/hv_snapshot.c; hvagent(8), VSS BACKUPS). It
// speaks FreeBSD's or Linux's device protocol (wire.go, linuxwire.go;
// Linux's driver is drivers/hv/hv_snapshot.c), and on Linux plans the
// freeze by the Linux daemon's rule (linuxplan.go, linuxmounts.go).
//
// The character-device life cycle is package chardev's, the socket
// transport package seqpacket's, the trust of the hooks directory package
// fstrust's, and the hooks' processes run through package command.
package vss
