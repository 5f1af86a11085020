// Command hvsim runs the real hvagent against a simulated Hyper-V host
// and FreeBSD (or Linux) kernel, so hvagent can be watched working on any
// Linux or FreeBSD machine with Go:
//
//	go run ./cmd/hvsim
//	go run ./cmd/hvsim -protocol linux
//
// It builds hvagent, starts it on the socket transport (hvagent(8),
// --kvp.device), plays the host (pushes host parameters and admin items,
// enumerates the auto and guest pools, asks GET_IP_INFO about this
// machine's adapters, runs VSS backup cycles, removes and re-adds the
// network VF as host servicing does), prints what the host saw and what
// landed in the pool files, and leaves the agent's /metrics up until
// interrupted.
//
// -protocol chooses the kernel simulated: freebsd (the default, on any
// system) or linux, whose KVP and VSS wire formats the demo then speaks
// (a 7,432-byte KVP message after a REGISTER1 handshake; the 12-byte VSS
// message, where HOT_BACKUP takes CHECK's place and a refused FREEZE is
// HV_E_FAIL). The demo always passes the agent --kvp.protocol,
// --vss.protocol and, with its VF side, --vf.protocol, whose defaults
// follow the running system.
//
// The VF story is told on both protocols. On FreeBSD's the agent observes
// a simulated devd and hn(4). On Linux's, run as root on Linux with
// ip(8), the demo makes a network namespace of its own (removed when it
// ends, also on error or interrupt) where a bridge eth0 stands in for
// hv_netvsc's synthetic NIC (a sysfs tree under the work directory names
// its driver, --vf.sys-root) and a veth with its MAC for the VF; it runs
// the agent in that namespace, plays servicing with ip(8) as hv_netvsc
// changes the links, and writes hv_netvsc's kernel-log lines into a FIFO
// the agent reads as --vf.kmsg. The metrics address is relayed from
// outside the namespace to the agent inside. Where that cannot run (not
// root, no ip(8), not Linux) the demo says why in one line, disables the
// agent's vf subsystem and goes on with KVP and VSS.
//
// The agent serves its metrics on 127.0.0.1:9855, or on a free port the
// demo names if another process holds that one; -listen chooses the
// address, and one that is taken stops the demo at once.
//
// main.go reads the flags, sim.go builds and starts the agent and plays
// the KVP host, vss.go and vf.go the backup and VF sides (netvsc.go and
// netns_linux.go the Linux VF side's namespace), ipinfo.go the
// GET_IP_INFO questions about this machine's adapters, relay.go shows the
// agent's log, and listen.go chooses the metrics address.
package main
