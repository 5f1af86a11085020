package vss

// The freezer's protocol with the agent, shared by the child (child.go)
// and the agent's side (freezer.go). The agent writes one byte, cmdThaw,
// on the command pipe, or closes it; the child writes fixed-size records
// on the report pipe.

// maxTargets bounds how many filesystems one freezer holds.
const maxTargets = 64

// Report records, recSize bytes each: kind, a (index or reason), a 16-bit
// count, a 32-bit errno, little-endian.
const (
	recSize        = 8
	recFrozen      = 'F' // every target frozen; a = 0, count = n
	recOpenFailed  = 'O' // a = target index, errno set; the child thawed and exits
	recFreezeFail  = 'Z' // a = target index, errno set; the child thawed and exits
	recThawed      = 'T' // a = reason, count = failed thaws, errno = the first one
	reasonCommand  = 'C' // the agent said thaw
	reasonEOF      = 'E' // the command pipe closed: the agent died
	reasonTimeout  = 'A' // the child's own deadline passed
	cmdThaw        = 'T'
	exitSetupError = 3 // the child could not set up its descriptors
)
