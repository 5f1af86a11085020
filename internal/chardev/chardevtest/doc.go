// Package chardevtest holds what the models of the Hyper-V utility
// drivers (kvptest.Device for hv_kvp.c, vsstest.Device for
// hv_snapshot.c) share: one open descriptor at a time, a lock, wake-ups
// on every state change, poll with a timeout, and an end for tests.
//
// Each driver's own rules (REGISTER and daemon_busy for KVP, the notify
// and ack queues for VSS) stay in kvptest and vsstest.
package chardevtest
