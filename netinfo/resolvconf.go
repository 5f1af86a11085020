package netinfo

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// nameservers returns the valid nameserver addresses of a resolv.conf(5)
// file, in order. Comments and malformed lines are ignored; lines of
// any length are read.
func nameservers(b []byte) []netip.Addr {
	var out []netip.Addr
	for line := range fbsdnet.Lines(b) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil {
			out = append(out, a.WithZone(""))
		}
	}
	return out
}

// withNameservers returns resolv.conf content with its nameserver lines
// replaced by servers, placed where the first one was (or at the end).
// Every other line (search, domain, options, sortlist, comments) is kept
// as it was, whatever its length: the new file is never shorter than
// the old one meant.
func withNameservers(old []byte, servers []netip.Addr) []byte {
	var b bytes.Buffer
	placed := false
	put := func() {
		for _, s := range servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		placed = true
	}
	for line := range fbsdnet.Lines(old) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "nameserver" {
			if !placed {
				put()
			}
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if !placed {
		put()
	}
	return b.Bytes()
}

// writeThroughLink is writeAtomic on the file a symlink at path points
// to, so that a resolv.conf linked elsewhere (a resolver's own file)
// stays a link. Only for files the administrator manages: the agent's
// own files are never written through a link.
func writeThroughLink(path string, data []byte, mode os.FileMode) error {
	real, err := filepath.EvalSymlinks(path)
	switch {
	case err == nil:
		path = real
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	return writeAtomic(path, data, mode)
}

// writeAtomic replaces path with data: a temporary file in the same
// directory, synced, renamed over path, then the directory synced. A
// reader sees the old or the new file, never a partial one. The mode of
// an existing file is kept. A symlink at path is replaced; see
// writeThroughLink.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".hvagent-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: ENOENT, harmless
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// resolverOptions keeps the search, domain, options and sortlist lines
// of resolv.conf content, each distinct line once.
func resolverOptions(b []byte) []byte {
	var out bytes.Buffer
	seen := map[string]bool{}
	for line := range fbsdnet.Lines(b) {
		f := strings.Fields(line)
		if len(f) == 0 || seen[strings.Join(f, " ")] {
			continue
		}
		switch f[0] {
		case "search", "domain", "options", "sortlist":
			seen[strings.Join(f, " ")] = true
			out.WriteString(strings.Join(f, " ") + "\n")
		}
	}
	return out.Bytes()
}
