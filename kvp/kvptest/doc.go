// Package kvptest provides a simulated FreeBSD KVP kernel device and a
// simulated Hyper-V host, in the style of net/http/httptest.
//
// A Kernel listens on a SOCK_SEQPACKET Unix socket and speaks the socket
// transport of hvagent(8) (--kvp.device): the daemon connects, writes a 7430-byte REGISTER
// message, then answers each 7430-byte request datagram with one 7430-byte
// reply. Where the agent can tell, the Kernel behaves like
// sys/dev/hyperv/utilities/hv_kvp.c: one daemon at a time, register before
// service, one transaction at a time, a reply deadline after which the host
// gets HV_E_FAIL and the late reply is dropped. A Host drives a Kernel the
// way Hyper-V does.
//
// It is for tests and for the demo, load and benchmark commands
// (cmd/hvsim, cmd/hvload, cmd/hvbench); the agent never imports it.
package kvptest
