package vss

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// Target is one filesystem to freeze.
type Target struct {
	Dir  string   // mount point; on Linux the directory that is frozen
	Fsid [2]int32 // FreeBSD: the statfs fsid given to UFSSUSPEND
}

// ThawReason says why a freezer thawed.
type ThawReason byte

// Reasons a freezer thaws, as the child reports them.
const (
	ThawCommanded ThawReason = reasonCommand // the agent said so
	ThawAgentGone ThawReason = reasonEOF     // the command pipe closed
	ThawDeadline  ThawReason = reasonTimeout // the child's own deadline
)

func (r ThawReason) String() string {
	switch r {
	case ThawCommanded:
		return "commanded"
	case ThawAgentGone:
		return "agent gone"
	case ThawDeadline:
		return "freezer deadline"
	}
	return "unknown"
}

// ErrFreezerDied reports a freezer that exited without reporting a thaw.
var ErrFreezerDied = errors.New("vss: freezer died")

// record is one report from the child.
type record struct {
	kind  byte
	a     byte
	count uint16
	errno syscall.Errno
}

func decodeRecord(b []byte) record {
	return record{kind: b[0], a: b[1], count: binary.LittleEndian.Uint16(b[2:]), errno: syscall.Errno(binary.LittleEndian.Uint32(b[4:]))}
}

// Frozen is a running freezer that holds its targets frozen.
type Frozen struct {
	pid     int
	targets []Target
	cmd     *os.File // the agent's end of the command pipe
	reports chan record
	exited  chan struct{} // closed once the child is reaped
	status  syscall.WaitStatus
	once    sync.Once
}

// Pid is the freezer's process id.
func (f *Frozen) Pid() int { return f.pid }

// Exited is closed when the freezer process has exited.
func (f *Frozen) Exited() <-chan struct{} { return f.exited }

// readReports forwards the child's records until EOF.
func readReports(r *os.File, out chan<- record) {
	defer close(out)
	defer r.Close()
	buf := make([]byte, recSize)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		out <- decodeRecord(buf)
	}
}

// Freeze starts a freezer for targets (in mount order) and waits up to
// wait for it to report. selfThaw is the freezer's own deadline (0: none).
// On failure nothing is left frozen.
func Freeze(targets []Target, wait, selfThaw time.Duration) (*Frozen, error) {
	if len(targets) > maxTargets {
		return nil, fmt.Errorf("vss: %d filesystems to freeze, at most %d", len(targets), maxTargets)
	}
	f, err := startFreezer(targets, selfThaw)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case rec, ok := <-f.reports:
		switch {
		case ok && rec.kind == recFrozen:
			return f, nil
		case ok && (rec.kind == recOpenFailed || rec.kind == recFreezeFail):
			f.reap()
			return nil, &FreezeError{Index: int(rec.a), Dir: targetDir(targets, int(rec.a)), Open: rec.kind == recOpenFailed, Errno: rec.errno}
		}
		f.reap()
		return nil, errors.Join(fmt.Errorf("%w before freezing (%s)", ErrFreezerDied, exitString(f.status)), thawAll(targets))
	case <-timer.C:
		// A freeze stuck in the kernel (FIFREEZE syncs first): give up, so
		// the host hears back within its 15 s.
		return nil, errors.Join(fmt.Errorf("vss: freeze did not finish within %s", wait), f.killAndThaw(time.Second))
	}
}

// FreezeError is a target the freezer could not open or freeze; it
// thawed the others before it exited, so nothing is left frozen.
type FreezeError struct {
	Index int    // in the targets given to Freeze
	Dir   string // its mount point
	Open  bool   // the open failed, not the freeze
	Errno syscall.Errno
}

func (e *FreezeError) Error() string {
	what := "freeze"
	if e.Open {
		what = "open"
	}
	return fmt.Sprintf("vss: %s %s: %v", what, e.Dir, e.Errno)
}

func (e *FreezeError) Unwrap() error { return e.Errno }

func targetDir(targets []Target, i int) string {
	if i < 0 || i >= len(targets) {
		return fmt.Sprintf("target %d", i)
	}
	return targets[i].Dir
}

// Thaw tells the freezer to thaw and waits up to wait for it to confirm.
// If the freezer is gone or stuck, the agent thaws what it can itself
// (Linux: FITHAW; FreeBSD: the kernel resumed when the freezer's
// descriptors closed).
func (f *Frozen) Thaw(wait time.Duration) (ThawReason, error) {
	f.closeCmd(true)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case rec, ok := <-f.reports:
		if !ok {
			f.reap()
			return 0, errors.Join(fmt.Errorf("%w while frozen (%s)", ErrFreezerDied, exitString(f.status)), thawAll(f.targets))
		}
		f.reap()
		if rec.kind != recThawed {
			return 0, errors.Join(fmt.Errorf("vss: unexpected freezer report %q", rec.kind), thawAll(f.targets))
		}
		if rec.count > 0 {
			return ThawReason(rec.a), fmt.Errorf("vss: %d of %d filesystems failed to thaw: %w", rec.count, len(f.targets), rec.errno)
		}
		return ThawReason(rec.a), nil
	case <-timer.C:
		return 0, errors.Join(fmt.Errorf("vss: freezer did not thaw within %s", wait), f.killAndThaw(time.Second))
	}
}

// Recover handles a freezer that exited on its own: it returns the reason
// it reported, or thaws the targets itself and returns ErrFreezerDied.
func (f *Frozen) Recover() (ThawReason, error) {
	return f.Thaw(time.Second)
}

// closeCmd closes the command pipe, first asking for a thaw if say is set.
// Closing alone also makes the child thaw (EOF).
func (f *Frozen) closeCmd(say bool) {
	f.once.Do(func() {
		if say {
			_, _ = f.cmd.Write([]byte{cmdThaw})
		}
		f.cmd.Close()
	})
}

// kill ends the freezer at once and reaps it.
func (f *Frozen) kill() {
	f.signalKill()
	f.reap()
}

func (f *Frozen) signalKill() {
	select {
	case <-f.exited: // reaped: the pid may belong to someone else now
	default:
		_ = syscall.Kill(f.pid, syscall.SIGKILL)
	}
	f.closeCmd(false)
}

// killAndThaw kills a freezer that stopped answering and thaws its
// targets once it is gone. A freezer stuck in the kernel (a FIFREEZE
// waiting for writeback) dies only when the call returns, and may have
// frozen one more filesystem by then, so the thaw must come after its
// exit: within d here, else in the background when it exits.
func (f *Frozen) killAndThaw(d time.Duration) error {
	f.signalKill()
	select {
	case <-f.exited:
		return thawAll(f.targets)
	case <-time.After(d):
		go func() {
			<-f.exited
			_ = thawAll(f.targets)
		}()
		return fmt.Errorf("vss: freezer %d is stuck in the kernel; its filesystems are thawed when it exits", f.pid)
	}
}

// reap waits for the child to exit. The child exits right after its last
// report, so this does not wait long.
func (f *Frozen) reap() {
	f.closeCmd(false)
	<-f.exited
}

func exitString(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}
