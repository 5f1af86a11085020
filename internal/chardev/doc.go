// Package chardev owns the life cycle of the Hyper-V utility character
// devices (/dev/hv_kvp_dev, /dev/hv_fsvss_dev): open with the busy rule,
// wait for a request, read or ioctl it, write the reply, close. The
// subsystems keep only their message formats.
//
// Every system call goes through a Sys, so the device logic runs under
// `go test` on Linux against a model of the FreeBSD driver (kvptest,
// vsstest) as well as against the kernel.
//
// The devices have no kqueue filter, so Go's runtime poller cannot wait on
// them: a daemon polls with a timeout and looks at its context between
// polls. A descriptor here is always a raw one, never an os.File: a read
// that sleeps in the driver cannot be interrupted by the runtime, and an
// os.File's Close would wait for it forever.
//
// It knows no message format: kvp and vss own theirs, and the socket
// transport that tests and the simulator use is package seqpacket's.
package chardev
