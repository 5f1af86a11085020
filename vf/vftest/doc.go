// Package vftest provides a simulated devd and a simulated Azure guest
// for testing the vf subsystem, in the style of net/http/httptest.
//
// Devd serves devctl lines in devd's real format on a SOCK_SEQPACKET
// Unix socket, one event per record, and can restart mid-stream. The
// simulated system the fake commands (sysctl, ifconfig, sysrc, service,
// dhclient) act on is package fbsdnettest's World, shared with package
// netinfo's tests; World, State and the rest are its names here too.
// Guest puts the two together for the demo and the load measurement.
package vftest
