package netinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// nameservers returns the valid nameserver addresses of a resolv.conf(5)
// file, in order. Comments and malformed lines are ignored.
func nameservers(b []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
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
// as it was.
func withNameservers(old []byte, servers []netip.Addr) []byte {
	var b bytes.Buffer
	placed := false
	put := func() {
		for _, s := range servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		placed = true
	}
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		line := sc.Text()
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

// writeAtomic replaces path with data: a temporary file in the same
// directory, synced, renamed over path, then the directory synced. A
// reader sees the old or the new file, never a partial one. The mode of
// an existing file is kept.
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
