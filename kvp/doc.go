// Package kvp is the KVP subsystem: the Hyper-V key/value pair exchange
// that hv_kvp_daemon does in FreeBSD's base system (the driver is
// sys/dev/hyperv/utilities/hv_kvp.c; hvagent(8), KVP POOLS).
//
// It owns the wire format of struct hv_kvp_msg (msg.go), the pool files
// and their locking, journal and crash recovery (pool*.go, lock*.go), the
// operation semantics and their metrics (service.go, service_metrics.go,
// metrics.go), the guest facts behind the auto pool (facts.go, uname_*.go)
// and the subsystem the agent runs (subsystem.go, start.go). transport.go
// opens the transport: the FreeBSD device (device*.go) or a
// SOCK_SEQPACKET socket.
//
// The character-device life cycle is package chardev's, the socket side
// package seqpacket's, and the trust of the pool directory package
// fstrust's. kvptest is the simulated kernel device and host.
package kvp
