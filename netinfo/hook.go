package netinfo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// hookState says whether an administrator installed the hook at path
// (anything there, even a dangling symlink) and, if so, why it may not
// be run as root: it must be a regular executable file, not a symlink,
// owned by owner (root) and writable by nobody else, in directories
// owned by root or owner that group and others cannot write (unless
// sticky, like /tmp, where only an entry's owner may replace it). A
// hook that is there but fails this is refused, never silently
// bypassed by applying the request natively.
func hookState(path string, owner int) (installed bool, err error) {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	mode := st.Mode()
	switch {
	case mode&os.ModeSymlink != 0:
		return true, fmt.Errorf("%s is a symbolic link; refusing to run it", path)
	case !mode.IsRegular():
		return true, fmt.Errorf("%s is not a regular file; refusing to run it", path)
	case mode.Perm()&0o100 == 0:
		return true, fmt.Errorf("%s is not executable by its owner (mode %04o)", path, mode.Perm())
	case mode.Perm()&0o022 != 0:
		return true, fmt.Errorf("%s is writable by group or others (mode %04o); refusing to run it", path, mode.Perm())
	}
	if uid, ok := ownerOf(st); !ok || uid != owner {
		return true, fmt.Errorf("%s is owned by uid %d, not %d; refusing to run it", path, uid, owner)
	}
	return true, checkHookDirs(filepath.Dir(path), owner)
}

// checkHookDirs checks dir and each directory above it.
func checkHookDirs(dir string, owner int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for {
		st, err := os.Lstat(dir)
		if err != nil {
			return err
		}
		mode := st.Mode()
		uid, _ := ownerOf(st)
		switch {
		case !mode.IsDir():
			return fmt.Errorf("%s is not a directory; refusing to run the hook", dir)
		case uid != 0 && uid != owner:
			return fmt.Errorf("%s is owned by uid %d; refusing to run the hook", dir, uid)
		case mode.Perm()&0o022 != 0 && mode&os.ModeSticky == 0:
			return fmt.Errorf("%s is writable by group or others (mode %04o); refusing to run the hook", dir, mode.Perm())
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func ownerOf(st os.FileInfo) (int, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(sys.Uid), true
}

// hookConfig renders a validated Setting as the hook's key=value file.
// Every value is made of netip renderings, interface names, digits,
// '.', ':', '/', '%' and spaces, so the file may be sourced by sh(1).
func hookConfig(s Setting, target string) []byte {
	var v4, v6, gw4, gw6 []string
	for _, a := range s.Addrs {
		if a.Addr().Is4() {
			v4 = append(v4, a.String())
		} else {
			v6 = append(v6, a.String())
		}
	}
	for _, g := range s.Gateways {
		if g.Is4() {
			gw4 = append(gw4, g.String())
		} else {
			gw6 = append(gw6, gwString(g, target))
		}
	}
	dhcp := "no"
	if s.DHCP {
		dhcp = "yes"
	}
	var b strings.Builder
	b.WriteString("# SET_IP_INFO from the Hyper-V host, validated by hvagent; see hvagent(8).\n")
	for _, kv := range [][2]string{
		{"INTERFACE", s.Interface},
		{"TARGET", target},
		{"DHCP", dhcp},
		{"IPV4_ADDRESSES", strings.Join(v4, " ")},
		{"IPV6_ADDRESSES", strings.Join(v6, " ")},
		{"IPV4_GATEWAYS", strings.Join(gw4, " ")},
		{"IPV6_GATEWAYS", strings.Join(gw6, " ")},
		{"DNS_SERVERS", strings.Join(addrStrings(scoped(s.DNS, target)), " ")},
	} {
		fmt.Fprintf(&b, "%s=\"%s\"\n", kv[0], kv[1])
	}
	return []byte(b.String())
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// writeHookFile writes the hook's file (mode 0600, directory 0700 if it
// has to be created) atomically.
func writeHookFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeAtomic(path, data, 0o600)
}
