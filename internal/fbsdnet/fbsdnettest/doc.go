// Package fbsdnettest is one simulated FreeBSD system for the tests of
// everything that configures the network through commands (package vf's
// hyperv_vfup work, package netinfo's SET_IP_INFO): one state, one set
// of semantics, one record of the commands run.
//
// A World is a directory: state.json (sysctls, interfaces and their
// addresses, default routes, dhclient, injected failures), rc.conf (a
// real file, read with package fbsdnet's parser like the agent reads
// it, and changed only by the fake sysrc), resolvconf/interfaces (the
// fake resolvconf's records), calls.jsonl (every command run, with its
// exit status) and bin/, where Install links one program under every
// fake command's name: sysctl, ifconfig, sysrc, service, dhclient,
// route, resolvconf, and the administrators' hooks (hyperv_vfup.hnN,
// set-ip-hook). That program is either the test binary itself (its
// TestMain calls Main when IsFake) or the small one BuildFakes builds.
//
// It is for tests, the demo and the load measurement only; the agent
// never imports it.
package fbsdnettest
