package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// chooseListen returns the address the agent is to serve metrics on.
// An address given with -listen is used if it is free, and is an error
// if another process holds it. Without one, the demo uses def, or a free
// port on the same host if def is taken, and says which.
//
// A free address here can still be taken before the agent binds it; the
// agent's own word on its metrics server (sim.waitWeb) catches that.
func chooseListen(listen, def string, out io.Writer) (string, error) {
	if listen != "" {
		if err := probe(listen); err != nil {
			return "", fmt.Errorf("-listen %s: %w; choose another address with -listen", listen, err)
		}
		return listen, nil
	}
	err := probe(def)
	if err == nil {
		return def, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return "", fmt.Errorf("%s: %w; choose another address with -listen", def, err)
	}
	host, _, _ := net.SplitHostPort(def)
	free, err := freePort(host)
	if err != nil {
		return "", fmt.Errorf("%s is in use and no other port is free: %w", def, err)
	}
	fmt.Fprintf(out, "hvsim: %s is in use by another process (a second demo, an exporter?); "+
		"the agent serves metrics at http://%s/metrics instead (-listen chooses)\n", def, free)
	return free, nil
}

// probe reports whether addr can be listened on now.
func probe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// freePort returns host with a port the kernel picked as free.
func freePort(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
