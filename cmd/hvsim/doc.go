// Command hvsim runs the real hvagent against a simulated Hyper-V host and
// FreeBSD kernel, so hvagent can be watched working on any Linux or
// FreeBSD machine with Go:
//
//	go run ./cmd/hvsim
//
// It builds hvagent, starts it on the socket transport (hvagent(8),
// --kvp.device), plays the host (pushes host parameters and admin items,
// enumerates the auto and guest pools, runs VSS backup cycles, removes and
// re-adds the network VF as host servicing does), prints what the host saw
// and what landed in the pool files, and leaves the agent's /metrics up
// until interrupted.
//
// The agent serves its metrics on 127.0.0.1:9855, or on a free port the
// demo names if another process holds that one; -listen chooses the
// address, and one that is taken stops the demo at once.
//
// main.go reads the flags, sim.go builds and starts the agent and plays
// the KVP host, vss.go and vf.go the backup and VF sides, ipinfo.go the
// GET_IP_INFO questions about this machine's adapters, relay.go shows the
// agent's log, and listen.go chooses the metrics address.
package main
