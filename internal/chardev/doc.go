// Package chardev owns the life cycle of the Hyper-V utility character
// devices (FreeBSD's /dev/hv_kvp_dev, /dev/hv_fsvss_dev; Linux's
// /dev/vmbus/hv_kvp, /dev/vmbus/hv_vss): open with the busy rule, wait
// for a request, read or ioctl it, write the reply, close. The
// subsystems keep only their message formats.
//
// Device is the FreeBSD device as the subsystems drive it; LinuxDevice
// (linux.go) is a whole message transport over Linux's
// hv_utils_transport.c: OpenLinux waits for a node that is not there yet
// (inotify where the Sys is a NodeWatcher), Read polls before it reads,
// and the two ways a Linux transaction ends early have their own errors,
// ErrGone and ErrTransactionGone.
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
