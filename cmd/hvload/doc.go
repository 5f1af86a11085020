// Command hvload measures what hvagent costs: it starts the real agent
// against the simulated kernel devices and host, keeps a steady host load
// on it, and reports the time from start to ready, the resident memory in
// steady state and its growth over the run, and the CPU time per request.
//
//	go run ./cmd/hvload                 # 60 s: 200 KVP requests/s, a backup every 2 s, 2 VF devd lines/s
//	go run ./cmd/hvload -duration 10m   # a longer run for growth
//	go run ./cmd/hvload -protocol linux # Linux's KVP and VSS wire formats
//
// Each subsystem with a simulator (sim.go) is under load; the others are
// disabled. -protocol chooses the simulated kernels, freebsd (the default,
// on any system) or linux, and the agent is always told it
// (--kvp.protocol, --vss.protocol), its own default being the running
// system's. The VF simulator is a FreeBSD guest (devd, hn(4)), run with
// --vf.protocol freebsd; the Linux protocol has none, so its runs measure
// KVP and VSS only.
//
// It reports; it does not judge. The figures depend on the machine, so
// nothing here fails on a threshold: the exit status is 1 only when the
// agent could not be started or died.
//
// main.go reads the flags and prints the report, measure.go builds and
// starts the agent, drives the load and scrapes /metrics and
// /proc/<pid>/status, and sim.go, vss.go and vf.go hold one simulator per
// subsystem (kvptest, vsstest, vftest) behind the simulator interface.
package main
