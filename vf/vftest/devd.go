package vftest

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// Devd is a simulated devd: it accepts any number of clients on a
// SOCK_SEQPACKET socket and sends every line to all of them.
type Devd struct {
	path string

	mu      sync.Mutex
	ln      *net.UnixListener
	conns   map[*net.UnixConn]bool
	changed chan struct{} // closed and replaced when a client connects
	wg      sync.WaitGroup
	closed  bool
}

// NewDevd listens on path.
func NewDevd(path string) (*Devd, error) {
	d := &Devd{path: path, conns: map[*net.UnixConn]bool{}, changed: make(chan struct{})}
	if err := d.listen(); err != nil {
		return nil, err
	}
	return d, nil
}

// Path is the socket's path.
func (d *Devd) Path() string { return d.path }

func (d *Devd) listen() error {
	os.Remove(d.path)
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: d.path, Net: "unixpacket"})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.ln = ln
	d.mu.Unlock()
	d.wg.Go(func() { d.accept(ln) })
	return nil
}

func (d *Devd) accept(ln *net.UnixListener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.conns[c] = true
		close(d.changed)
		d.changed = make(chan struct{})
		d.mu.Unlock()
		// Read until the client goes, so a closed client is forgotten.
		d.wg.Go(func() {
			buf := make([]byte, 64)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			d.mu.Lock()
			delete(d.conns, c)
			d.mu.Unlock()
			c.Close()
		})
	}
}

// Clients is the number of connected clients.
func (d *Devd) Clients() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// WaitClients waits until at least n clients are connected.
func (d *Devd) WaitClients(ctx context.Context, n int) error {
	for {
		d.mu.Lock()
		have, ch := len(d.conns), d.changed
		d.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Send writes one record holding line plus "\n", as devd does, to every
// client. It returns the number of clients that got it.
func (d *Devd) Send(line string) int {
	return d.SendRaw([]byte(line + "\n"))
}

// SendRaw writes one record of arbitrary bytes to every client.
func (d *Devd) SendRaw(rec []byte) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for c := range d.conns {
		if _, err := c.Write(rec); err == nil {
			n++
		}
	}
	return n
}

// Restart drops every client and the socket, as a devd restart does,
// and listens again after pause.
func (d *Devd) Restart(pause time.Duration) error {
	d.Pause()
	time.Sleep(pause)
	return d.Resume()
}

// Pause drops every client and the socket, as devd stopping does.
func (d *Devd) Pause() {
	d.mu.Lock()
	d.ln.Close()
	for c := range d.conns {
		c.Close()
		delete(d.conns, c)
	}
	d.mu.Unlock()
	os.Remove(d.path)
}

// Resume listens again after Pause, as devd starting does.
func (d *Devd) Resume() error { return d.listen() }

func (d *Devd) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("vftest: devd already closed")
	}
	d.closed = true
	d.ln.Close()
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.wg.Wait()
	os.Remove(d.path)
	return nil
}
