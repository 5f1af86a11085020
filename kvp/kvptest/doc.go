// Package kvptest provides a simulated KVP kernel device, FreeBSD's or
// Linux's, and a simulated Hyper-V host, in the style of
// net/http/httptest.
//
// A Kernel listens on a SOCK_SEQPACKET Unix socket and speaks the socket
// transport of hvagent(8) (--kvp.device). With the FreeBSD protocol the
// daemon connects, writes a 7430-byte REGISTER message, then answers each
// 7430-byte request datagram with one 7430-byte reply. Where the agent can
// tell, the Kernel behaves like sys/dev/hyperv/utilities/hv_kvp.c: one
// daemon at a time, register before service, one transaction at a time,
// a reply deadline after which the host gets HV_E_FAIL and the late reply
// is dropped. With the Linux protocol (KernelOptions.Protocol) it behaves
// like drivers/hv/hv_kvp.c over hv_utils_transport.c instead: 7432-byte
// messages, a REGISTER1 (100) registration that the kernel answers with a
// REGISTER1 datagram carrying "3.1" before any request, GET's value read
// at offset 532, and a 30-second deadline. A Host drives either the way
// Hyper-V does.
//
// It is for tests and for the demo, load and benchmark commands
// (cmd/hvsim, cmd/hvload, cmd/hvbench); the agent never imports it.
package kvptest
