//go:build unix

package chardevtest

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
)

// NegEBUSY is what both drivers' open returns for a second open:
// (-EBUSY) (hv_kvp.c, hv_kvp_dev_open; hv_snapshot.c, hv_vss_dev_open).
var NegEBUSY = func() unix.Errno { e := uintptr(unix.EBUSY); return unix.Errno(-e) }()

// Model is a driver's shared state. Its exported methods that say so
// must be called with Mu held.
type Model struct {
	Mu sync.Mutex

	path    string
	changed chan struct{}
	done    chan struct{}
	closed  bool
	fd      int
	nextFD  int
}

// Init prepares m for the device node at path, with nothing open.
func (m *Model) Init(path string) {
	m.path = path
	m.changed = make(chan struct{})
	m.done = make(chan struct{})
	m.fd, m.nextFD = -1, 3
}

// Path is the device node's path.
func (m *Model) Path() string { return m.path }

// Notify wakes everything waiting for a state change. Mu is held.
func (m *Model) Notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Changed is closed at the next state change. Mu is held.
func (m *Model) Changed() <-chan struct{} { return m.changed }

// Done is closed when the model ends.
func (m *Model) Done() <-chan struct{} { return m.done }

// End ends the model: waiters wake, calls fail with EIO.
func (m *Model) End() {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.done)
		m.Notify()
	}
}

// Ended reports whether End was called. Mu is held.
func (m *Model) Ended() bool { return m.closed }

// IsOpen reports whether a process holds the device. Mu is held.
func (m *Model) IsOpen() bool { return m.fd >= 0 }

// Open gives out a descriptor for path, refusing a second open with
// (-EBUSY) as both drivers do; refused counts those. Mu is held.
func (m *Model) Open(path string, refused *int) (int, error) {
	switch {
	case m.closed:
		return -1, unix.ENXIO
	case path != m.path:
		return -1, unix.ENOENT
	case m.fd >= 0:
		*refused++
		return -1, NegEBUSY
	}
	m.fd, m.nextFD = m.nextFD, m.nextFD+1
	m.Notify()
	return m.fd, nil
}

// Close releases fd. Mu is held.
func (m *Model) Close(fd int) error {
	if fd < 0 || fd != m.fd {
		return unix.EBADF
	}
	m.fd = -1
	m.Notify()
	return nil
}

// Check validates fd for a call. Mu is held.
func (m *Model) Check(fd int) error {
	switch {
	case m.closed:
		return unix.EIO
	case fd < 0 || fd != m.fd:
		return unix.EBADF
	}
	return nil
}

// Poll is the driver's poll: it reports the requested read events as
// soon as readable (called with Mu held) is true, POLLNVAL for a bad
// descriptor, and 0 when timeout passes first.
func (m *Model) Poll(fd int, events int16, timeout time.Duration, readable func() bool) (int16, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		m.Mu.Lock()
		if err := m.Check(fd); err != nil {
			m.Mu.Unlock()
			return chardev.PollNval, nil
		}
		if readable() {
			m.Mu.Unlock()
			return events & (chardev.PollIn | chardev.PollRdNorm), nil
		}
		ch := m.changed
		m.Mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return 0, nil
		}
	}
}
