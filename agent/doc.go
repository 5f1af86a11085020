// Package agent runs hvagent's subsystems (kvp, vss, vf) in one process.
//
// Shape of the process:
//
//   - One Loop serialises control: lifecycle changes, signals (SIGHUP
//     refresh), timers and notifications that sources post to it. Loop
//     handlers only touch memory; anything that can block (running a
//     command, a hook, a freeze, a DNS lookup) runs through Loop.Go, off the
//     loop, and reports back to it.
//   - Kernel deadlines never wait for the loop. Each device reader is a
//     source that answers its kernel itself (the KVP kernel gives the daemon
//     5 s, the VSS kernel 15 s), so a slow or stuck handler of one subsystem
//     can delay control work but never another subsystem's reply.
//   - A Supervisor runs each subsystem's Run method, and the metrics
//     server beside them, restarts one after a failure with capped,
//     jittered backoff (Backoff), and disables it with one log line when
//     it returns an error it marked Final (no device, no permission to
//     open it).
//
// It knows no subsystem: each is built by its own package's New from a
// Config that cmd/hvagent fills from the flags, and owns its metrics.
package agent
