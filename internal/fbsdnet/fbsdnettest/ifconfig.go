package fbsdnettest

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ifconfig models the ifconfig(8) forms the agent runs: "IF" (show),
// "IF create", and settings applied in order: up, down, a bare -alias
// (the first IPv4 address goes), laggproto P, laggport PORT (which must
// exist), "inet|inet6 ADDR[/LEN] [alias|-alias|delete]" (an address
// added or removed; removing one the interface lacks fails with
// SIOCDIFADDR's "Can't assign requested address"), and any other word
// (inet6 no_dad, accept_rtadv, mtu …), kept in Args.
func ifconfig(st *State, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "ifconfig: listing all interfaces is not simulated")
		return 64
	}
	name, args := args[0], args[1:]
	i := st.Ifaces[name]
	if len(args) == 1 && args[0] == "create" {
		if i != nil {
			fmt.Fprintf(stderr, "ifconfig: SIOCIFCREATE2 (%s): File exists\n", name)
			return 1
		}
		st.Ifaces[name] = &Iface{}
		return 0
	}
	if i == nil {
		fmt.Fprintf(stderr, "ifconfig: interface %s does not exist\n", name)
		return 1
	}
	if len(args) == 0 {
		printIface(stdout, name, i)
		return 0
	}
	return setIface(st, i, args, stderr)
}

// setIface applies ifconfig's settings to i in order and stops at the
// first that fails.
func setIface(st *State, i *Iface, args []string, stderr io.Writer) int {
	for k := 0; k < len(args); k++ {
		switch a := args[k]; {
		case a == "up":
			i.Up = true
		case a == "down":
			i.Up = false
		case a == "-alias":
			if len(i.Inet) == 0 {
				return noAddr(stderr)
			}
			i.Inet = i.Inet[1:]
		case a == "laggproto" && k+1 < len(args):
			k++
			i.Proto = args[k]
		case a == "laggport" && k+1 < len(args):
			k++
			if st.Ifaces[args[k]] == nil {
				fmt.Fprintf(stderr, "ifconfig: SIOCSLAGGPORT: No such file or directory\n")
				return 1
			}
			if !slices.Contains(i.Ports, args[k]) {
				i.Ports = append(i.Ports, args[k])
			}
		case (a == "inet" || a == "inet6") && k+1 < len(args) && isAddr(args[k+1]):
			n, ok := setAddr(i, a, args[k+1:])
			if !ok {
				return noAddr(stderr)
			}
			k += n
		default:
			i.Args = append(i.Args, a)
		}
	}
	return 0
}

// setAddr adds the address rest[0] of family ("inet" or "inet6") to i,
// or removes it if rest[1] is -alias or delete. It returns how many
// words it used, and false if the address to remove is not there.
func setAddr(i *Iface, family string, rest []string) (int, bool) {
	list := &i.Inet
	if family == "inet6" {
		list = &i.Inet6
	}
	addr, n, remove := rest[0], 1, false
	if len(rest) > 1 {
		switch rest[1] {
		case "alias":
			n++
		case "-alias", "delete":
			n++
			remove = true
		}
	}
	if remove {
		return n, removeAddr(list, addr)
	}
	*list = append(*list, addr)
	return n, true
}

func noAddr(stderr io.Writer) int {
	fmt.Fprintf(stderr, "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n")
	return 1
}

// isAddr: an address with or without a prefix length.
func isAddr(s string) bool {
	a, _, _ := strings.Cut(s, "/")
	_, err := netip.ParseAddr(a)
	return err == nil
}

func printIface(w io.Writer, name string, i *Iface) {
	flags := "BROADCAST,SIMPLEX,MULTICAST"
	if i.Up {
		flags = "UP," + flags
	}
	fmt.Fprintf(w, "%s: flags=8843<%s> metric 0 mtu 1500\n", name, flags)
	for _, a := range i.Inet {
		addr, n := splitPrefix(a, 32)
		fmt.Fprintf(w, "\tinet %s netmask %#08x\n", addr, uint32(0xffffffff)<<(32-n))
	}
	for _, a := range i.Inet6 {
		addr, n := splitPrefix(a, 128)
		fmt.Fprintf(w, "\tinet6 %s prefixlen %d\n", addr, n)
	}
	if i.Proto != "" {
		fmt.Fprintf(w, "\tlaggproto %s lagghash l2,l3,l4\n", i.Proto)
	}
	for _, p := range i.Ports {
		fmt.Fprintf(w, "\tlaggport: %s flags=0<>\n", p)
	}
}

func splitPrefix(a string, max int) (string, int) {
	addr, bits, _ := strings.Cut(a, "/")
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > max {
		n = max
	}
	return addr, n
}

// removeAddr deletes the address a (its prefix length, if any, is not
// compared) from list.
func removeAddr(list *[]string, a string) bool {
	a, _, _ = strings.Cut(a, "/")
	for k, have := range *list {
		if addr, _, _ := strings.Cut(have, "/"); addr == a {
			*list = slices.Delete(*list, k, k+1)
			return true
		}
	}
	return false
}
