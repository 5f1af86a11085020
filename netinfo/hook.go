package netinfo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// hookState says whether an administrator installed the hook at path:
// absent (apply natively), usable, or present but unsafe to run because
// group or others may write it (refused, never silently bypassed).
func hookState(path string) (installed bool, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	switch {
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		return false, nil
	case st.Mode().Perm()&0o022 != 0:
		return true, fmt.Errorf("%s is writable by group or others (mode %04o); refusing to run it", path, st.Mode().Perm())
	}
	return true, nil
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
		{"DNS_SERVERS", strings.Join(addrStrings(s.DNS), " ")},
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
