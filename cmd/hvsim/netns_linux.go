package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// netns runs functions on one OS thread that has entered a network
// namespace: a socket it opens and a process it starts belong to the
// namespace (setns(2) changes only the calling thread; a child inherits
// the namespaces of the thread that forks it, and Go forks on the
// calling thread).
type netns struct {
	mu     sync.Mutex
	jobs   chan func()
	closed bool
}

// enterNetns starts the thread in the namespace ip(8) named name.
func enterNetns(name string) (*netns, error) {
	n := &netns{jobs: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread is the namespace's, and it ends
		// with this goroutine instead of returning to the scheduler.
		runtime.LockOSThread()
		fd, err := unix.Open(filepath.Join(netnsRunDir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		errc <- err
		if err != nil {
			return
		}
		for fn := range n.jobs {
			fn()
		}
	}()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("entering network namespace %s: %w", name, err)
	}
	return n, nil
}

// errNetnsClosed: do after close.
var errNetnsClosed = errors.New("the demo's network namespace is closed")

// do runs fn in the namespace and returns its error.
func (n *netns) do(fn func() error) error {
	var err error
	done := make(chan struct{})
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errNetnsClosed
	}
	n.jobs <- func() { err = fn(); close(done) }
	n.mu.Unlock()
	<-done
	return err
}

// close ends the thread.
func (n *netns) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.closed = true
		close(n.jobs)
	}
}
