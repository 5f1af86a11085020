// Package vsstest provides simulated FreeBSD and Linux VSS kernels and a
// simulated Hyper-V host, in the style of net/http/httptest, plus the
// loop-mounted filesystem that real-freeze tests use.
//
// A Kernel listens on a SOCK_SEQPACKET Unix socket and speaks the socket
// transport of hvagent(8) (--vss.device): connecting registers the daemon, each datagram the
// daemon receives is what one IOCHVVSSREAD would return, and the daemon
// answers a request with one 64-byte datagram, its IOCHVVSSWRITE. Where the
// agent can tell, it behaves like sys/dev/hyperv/utilities/hv_snapshot.c:
//   - one daemon at a time: a second connection is refused, the EBUSY of
//     hv_vss_dev_open;
//   - one transaction at a time, each given 15 seconds (TIMEOUT_LIMIT,
//     armed by hv_vss_start_notify); on timeout hv_vss_timeout removes the
//     request from every queue and the host gets HV_E_FAIL;
//   - a request that timed out before the daemon read it never reaches the
//     daemon: poll no longer reports it, and a read that poll had already
//     announced gets the zero-filled buffer of the _IOR ioctl with only
//     status set to VSS_FAIL (hv_vss_notified), which SendTimedOut hands
//     over;
//   - a reply to a request that timed out after the daemon read it is
//     accepted (IOCHVVSSWRITE returns 0) and ignored
//     (hv_vss_daemon_acked finds nothing in to_ack_queue).
//
// A socket cannot take a datagram back, so the Kernel writes a request only
// when the daemon is free to read it: while the daemon holds a request it
// has not answered (a daemon answers one request at a time), the next one
// waits, the way it would wait in the kernel's notify queue, and if it
// times out there the daemon never sees it.
//
// LinuxKernel is the same for the Linux kernel's protocol
// (drivers/hv/hv_snapshot.c; --vss.protocol linux): 12-byte messages, the
// REGISTER1 handshake answered with the u32 129 before any request,
// HOT_BACKUP, FREEZE and THAW requests with only byte 0 set, replies
// whose first four bytes are the HRESULT, 900 s for FREEZE and 30 s for
// the others; a reply the kernel would refuse with EINVAL is dropped and
// counted.
//
// The wire format is encoded here independently of package vss, so the
// fake checks the real bytes.
package vsstest
