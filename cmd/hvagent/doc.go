// Command hvagent is the Hyper-V / Azure guest agent for FreeBSD: it
// replaces hv_kvp_daemon, hv_vss_daemon and the hyperv_vf* scripts with
// one daemon serving Prometheus metrics. See hvagent(8).
//
// This package owns the command line and nothing below it: main.go
// dispatches the commands, daemon.go and the run_*.go files turn the
// flags of 'hvagent run' into each subsystem's Config and hand the
// subsystems to agent.Run, kvpcmd.go reads and writes pool files for the
// kvp commands, and doctor.go prints what package doctor found. What a
// subsystem does is its own package's business.
package main
