// Package chardevtest holds what the models of the Hyper-V utility
// drivers (kvptest.Device for hv_kvp.c, vsstest.Device for
// hv_snapshot.c) share: one open descriptor at a time, a lock, wake-ups
// on every state change, poll with a timeout, and an end for tests.
//
// Each FreeBSD driver's own rules (REGISTER and daemon_busy for KVP, the
// notify and ack queues for VSS) stay in kvptest and vsstest.
//
// LinuxDevice is a whole model of Linux's hv_utils_transport.c, with the
// drivers' transaction rules (hv_kvp.c, hv_snapshot.c) reduced to a
// handshake hook and a reply deadline and the message size a parameter,
// so that the KVP and VSS tests share it.
package chardevtest
