package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/vss"
)

// checkedValue is a flag whose value is parsed and checked as the flag is
// read, so that every bad value is a parse error: "hvagent run FLAGS
// --help", the rc.d script's check, then fails on it before --help.
type checkedValue[T any] struct {
	p     *T
	text  string
	parse func(string) (T, error)
}

func (c *checkedValue[T]) String() string {
	if c == nil {
		return ""
	}
	return c.text
}

func (c *checkedValue[T]) Set(s string) error {
	v, err := c.parse(s)
	if err != nil {
		return err
	}
	*c.p, c.text = v, s
	return nil
}

// checkedVar registers a checked flag; def is parsed as its default.
func checkedVar[T any](fs *flag.FlagSet, p *T, name, def, usage string, parse func(string) (T, error)) {
	c := &checkedValue[T]{p: p, parse: parse}
	if err := c.Set(def); err != nil {
		panic(fmt.Sprintf("flag -%s: default %q: %v", name, def, err)) // a programming error
	}
	fs.Var(c, name, usage)
}

func parseSubsystems(s string) ([]string, error) {
	names := splitList(s)
	for _, name := range names {
		if !slices.Contains(subsystemNames, name) {
			return nil, fmt.Errorf("unknown subsystem %q (want kvp, vss or vf)", name)
		}
	}
	return names, nil
}

func parseLevel(s string) (slog.Level, error) { return agent.ParseLevel(s) }

func parseMaxFrozen(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 || d > vss.MaxMaxFrozen {
		return 0, fmt.Errorf("%s must be positive and at most %s", d, vss.MaxMaxFrozen)
	}
	return d, nil
}

func parseMaxConnections(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a positive number of connections", s)
	}
	return n, nil
}

// parseWebTimeout: from a second (a TLS handshake over a slow link needs
// that) to an hour.
func parseWebTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < time.Second || d > time.Hour {
		return 0, fmt.Errorf("%s must be between 1s and 1h", d)
	}
	return d, nil
}

func parseMountPoints(s string) ([]string, error) {
	dirs := splitList(s)
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("%q is not an absolute mount point", d)
		}
	}
	return dirs, nil
}

func parseGlobs(s string) ([]string, error) {
	globs := splitList(s)
	for _, g := range globs {
		if _, err := filepath.Match(g, "/"); err != nil {
			return nil, fmt.Errorf("%q: %w", g, err)
		}
	}
	return globs, nil
}

// parseWebConfig checks the exporter-toolkit file (and the certificate and
// key it names) at start, where a mistake is a usage error the rc.d check
// catches, instead of a metrics server that never comes up.
func parseWebConfig(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	if err := web.Validate(path); err != nil {
		return "", err
	}
	return path, nil
}

// parseListenAddress refuses a --web.listen-address that no retry could
// ever bind: not host:port, or a port that is not a number from 0 to
// 65535 or a known service name. An address that may come to work (in
// use, not configured yet) passes, and the metrics server tries it again.
// Empty disables the server.
func parseListenAddress(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", fmt.Errorf("port %q: want 0 to 65535 or a service name", port)
	}
	return s, nil
}
