package agent

import (
	"errors"
	"io/fs"
)

// ErrDisabled is what every final error matches: errors.Is(err,
// ErrDisabled) holds for an error made by Final, and wrapping ErrDisabled
// itself is another way to say the same.
var ErrDisabled = errors.New("subsystem disabled")

// finalError is an error a subsystem returned on purpose to be given up
// on. It reads as the error it wraps.
type finalError struct{ err error }

func (e *finalError) Error() string        { return e.err.Error() }
func (e *finalError) Unwrap() error        { return e.err }
func (e *finalError) Is(target error) bool { return target == ErrDisabled }

// Final marks err as one no restart will cure, such as a device that does
// not exist. errors.Is and errors.As see through the mark, and wrapping
// the result with %w keeps it final; %v does not. Final(nil) is nil.
//
// A subsystem marks its own errors: a fs.ErrNotExist or EPERM met deep
// inside its work (a hook file gone, a sysctl refused) is not final unless
// the subsystem says so, and the supervisor restarts it.
func Final(err error) error {
	if err == nil || IsFinal(err) {
		return err
	}
	return &finalError{err: err}
}

// IsFinal reports whether err was marked final (Final, or a wrap of
// ErrDisabled): the supervisor then gives up on the subsystem.
func IsFinal(err error) bool { return errors.Is(err, ErrDisabled) }

// FinalIfUnavailable marks err final when it says that what a subsystem
// opens at start is not there to open: it does not exist
// (fs.ErrNotExist, ENOENT), the agent may not open it (fs.ErrPermission,
// which EPERM and EACCES match), or this platform has no such thing
// (errors.ErrUnsupported). Any other error is returned as it is. Call it
// on the error of opening a device, never on errors of the work done with
// one.
func FinalIfUnavailable(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, errors.ErrUnsupported) {
		return Final(err)
	}
	return err
}
