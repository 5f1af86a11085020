// Package vf follows the network virtual function (VF) that Hyper-V and
// Azure attach next to each synthetic hn(4) interface for accelerated
// networking, and in manage mode does natively what FreeBSD's
// hyperv_vfattach and hyperv_vfup scripts do
// (contrib/hyperv/tools/scripts, run by the rules of sbin/devd/hyperv.conf).
//
// Events arrive from devd's SOCK_SEQPACKET socket as devctl lines
// (event.go). Each one is turned, with the hn topology read from sysctls
// (topology.go), into an observation of one hnN: which VF it has and
// whether the datapath is on it. A Tracker (state.go) keeps the per-hnN
// state machine and updates the metrics from the transitions themselves.
// Actions (plan.go, actions.go) are argument vectors run off the event
// loop through a Runner, rate limited per interface.
//
// On Linux (Config.Protocol ProtocolLinux) the kernel's hv_netvsc
// driver does the failover itself and the subsystem only observes: the
// links come from an rtnetlink dump and RTM_NEWLINK/RTM_DELLINK events
// (linux.go, linux_linux.go, linuxrun.go), the kernel log adds its
// confirmations and failed switches (linuxkmsg.go), and the same Tracker
// keeps the same state machine and metrics.
//
// What rc.conf and the interface names say is package fbsdnet's, shared
// with netinfo; the commands run through package command.
package vf
