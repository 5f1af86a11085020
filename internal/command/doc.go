// Package command runs external commands the one way hvagent does:
// from an argument vector (never through a shell), in a process group of
// their own that is killed whole at the deadline, with their output kept
// up to a cap, and without ever making the caller wait long for a process
// that a SIGKILL does not end.
//
// What a command means (ifconfig, sysrc, a VSS hook, the set-ip hook)
// is the caller's business: vf, netinfo and vss build the argument vectors,
// and tests replace the Runner (package commandtest, or fbsdnettest's fake
// commands on PATH).
package command
