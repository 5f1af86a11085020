package kvp

import (
	"fmt"
	"runtime"
)

// Protocol is the kernel whose KVP device protocol the agent speaks
// (hvagent(8), --kvp.protocol). The message layout is the same on both;
// the size, the registration and where GET's value goes differ
// (linuxwire.go). The zero value is FreeBSD.
type Protocol uint8

// Protocols.
const (
	FreeBSD Protocol = iota // sys/dev/hyperv/utilities/hv_kvp.c
	Linux                   // drivers/hv/hv_kvp.c and hv_utils_transport.c
)

var protocolNames = [...]string{"freebsd", "linux"}

// String returns the name --kvp.protocol takes.
func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return fmt.Sprintf("protocol(%d)", uint8(p))
}

// ParseProtocol accepts "freebsd" or "linux".
func ParseProtocol(s string) (Protocol, error) {
	for i, name := range protocolNames {
		if s == name {
			return Protocol(i), nil
		}
	}
	return 0, fmt.Errorf("unknown protocol %q (want freebsd or linux)", s)
}

// DefaultProtocol is the protocol of the system the binary runs on:
// Linux on Linux, FreeBSD everywhere else.
func DefaultProtocol() Protocol { return protocolFor(runtime.GOOS) }

func protocolFor(goos string) Protocol {
	if goos == "linux" {
		return Linux
	}
	return FreeBSD
}

// MsgSize is the size of one message in p: every request, reply and
// registration is exactly this long.
func (p Protocol) MsgSize() int {
	if p == Linux {
		return LinuxMsgSize
	}
	return MsgSize
}

// ReadBufSize is large enough to notice datagrams longer than a message.
func (p Protocol) ReadBufSize() int { return p.MsgSize() + 1 }

// Device paths of the two kernels' KVP devices: FreeBSD's hv_kvp_attach
// makes "hv_kvp_dev" (sys/dev/hyperv/utilities/hv_kvp.c); Linux's
// hv_kvp_init registers the misc device kvp_devname = "vmbus/hv_kvp"
// through hvutil_transport_init (drivers/hv/hv_kvp.c).
const (
	FreeBSDDevice = "/dev/hv_kvp_dev"
	LinuxDevice   = "/dev/vmbus/hv_kvp"
)

// DefaultDevice is the KVP device path of p's kernel.
func (p Protocol) DefaultDevice() string {
	if p == Linux {
		return LinuxDevice
	}
	return FreeBSDDevice
}

// Pool directories: FreeBSD's hv_kvp_daemon keeps its pools in POOL_DIR
// "/var/db/hyperv/pool" (contrib/hyperv/tools/hv_kvp_daemon.c); Linux's
// in KVP_CONFIG_LOC "/var/lib/hyperv" (tools/hv/hv_kvp_daemon.c), where
// cloud-init's Azure reporter appends to pool 1 too.
const (
	FreeBSDPoolDir = "/var/db/hyperv/pool"
	LinuxPoolDir   = "/var/lib/hyperv"
)

// DefaultPoolDir is the pool directory of the system the binary runs on.
// It follows the system, not the protocol: the pools belong to the guest.
func DefaultPoolDir() string { return poolDirFor(runtime.GOOS) }

func poolDirFor(goos string) string {
	if goos == "linux" {
		return LinuxPoolDir
	}
	return FreeBSDPoolDir
}
