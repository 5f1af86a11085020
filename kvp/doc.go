// Package kvp is the KVP subsystem: the Hyper-V key/value pair exchange
// that hv_kvp_daemon does in FreeBSD's base system (the driver is
// sys/dev/hyperv/utilities/hv_kvp.c) and in Linux's tools/hv (the driver
// is drivers/hv/hv_kvp.c); hvagent(8), KVP POOLS.
//
// It owns the wire format of struct hv_kvp_msg (msg.go), the pool files
// and their locking, journal and crash recovery (pool*.go, lock*.go), the
// operation semantics and their metrics (service.go, service_metrics.go,
// metrics.go), the guest facts behind the auto pool (facts.go, uname_*.go)
// and the subsystem the agent runs (subsystem.go, start.go). transport.go
// opens the transport: the kernel's character device or a
// SOCK_SEQPACKET socket.
//
// Which kernel's protocol is spoken is a Protocol (protocol.go,
// --kvp.protocol), the running system's by default, and either works over
// the socket transport on any system. FreeBSD's is the base daemon's on
// /dev/hv_kvp_dev (device.go, device_freebsd.go). Linux's differs where
// linuxwire.go says: 7432-byte messages, the REGISTER1 handshake with the
// kernel's answer read before serving, GET's value where the Linux kernel
// reads it; linuxconn.go holds the handshake and the rule that a reply
// more than 25 seconds late is not written, the device is reopened
// instead. On Linux /dev/vmbus/hv_kvp is opened through package chardev
// (device_linux.go, linuxdevice.go). A Linux kernel cannot pass on a
// record that is not valid UTF-8 or fills its field, so such records are
// skipped (servable.go), and the auto pool reports what Linux guests
// report (linuxfacts.go). The pools are where each system's daemon keeps
// them, /var/db/hyperv/pool or /var/lib/hyperv, and locked as the other
// writers there lock them (lock_freebsd.go, lock_linux.go).
//
// The character-device life cycle is package chardev's, the socket side
// package seqpacket's, and the trust of the pool directory package
// fstrust's. kvptest is the simulated kernel device and host, of either
// protocol.
package kvp
