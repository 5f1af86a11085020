package vftest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// IsFake reports whether argv0 names one of the fake commands; a test
// binary's TestMain calls Main then.
func IsFake(argv0 string) bool {
	base := filepath.Base(argv0)
	return (slices.Contains(FakeNames, base) || strings.HasPrefix(base, OverridePrefix)) && os.Getenv(StateEnv) != ""
}

// OverridePrefix names the per-interface override scripts
// (hyperv_vfup.hnN); a link to the test binary under such a name only
// records that it ran.
const OverridePrefix = "hyperv_vfup."

// Main runs the fake named by args[0] against the state file named in
// the environment and returns its exit status. Every call is recorded.
func Main(args []string, stdout, stderr io.Writer) int {
	path := os.Getenv(StateEnv)
	name := filepath.Base(args[0])
	argv := append([]string{name}, args[1:]...)
	code := 0
	err := update(path, func(st *State) {
		if c, ok := st.Fail[strings.Join(argv, " ")]; ok {
			fmt.Fprintf(stderr, "%s: simulated failure\n", name)
			code = c
			return
		}
		code = run(st, argv, stdout, stderr)
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s (vftest): %v\n", name, err)
		code = 70
	}
	if err := appendCall(filepath.Join(filepath.Dir(path), "calls.jsonl"), Call{Argv: argv, Code: code}); err != nil {
		fmt.Fprintf(stderr, "%s (vftest): %v\n", name, err)
	}
	return code
}

func run(st *State, argv []string, stdout, stderr io.Writer) int {
	switch argv[0] {
	case "sysctl":
		return sysctl(st, argv[1:], stdout, stderr)
	case "sysrc":
		if len(argv) != 3 || argv[1] != "-n" {
			fmt.Fprintln(stderr, "usage: sysrc -n name")
			return 64
		}
		v, ok := st.RC[argv[2]]
		if !ok {
			fmt.Fprintf(stderr, "sysrc: unknown variable '%s'\n", argv[2])
			return 1
		}
		fmt.Fprintln(stdout, v)
		return 0
	case "service":
		return service(st, argv[1:], stdout, stderr)
	case "dhclient":
		ifname := argv[len(argv)-1]
		if len(argv) < 2 || st.Ifaces[ifname] == nil {
			fmt.Fprintf(stderr, "dhclient: %q: no such interface\n", argv[1:])
			return 1
		}
		st.Dhclient[ifname] = true
		return 0
	case "ifconfig":
		return ifconfig(st, argv[1:], stdout, stderr)
	}
	if strings.HasPrefix(argv[0], OverridePrefix) {
		return 0
	}
	return 127
}

// service models "service dhclient stop|forcestop IF" as
// libexec/rc/rc.d/dhclient runs it: dhclient_pre_check refuses a plain
// stop, printing "'IF' is not a DHCP-enabled interface" and exiting 1,
// unless network.subr's dhcpif finds DHCP, SYNCDHCP or NOSYNCDHCP in
// ifconfig_IF (or ifconfig_DEFAULT); forcestop sets rc_force and skips
// the check. Either fails when no dhclient runs on IF, as rc.subr does
// when the pidfile names no process.
func service(st *State, args []string, stdout, stderr io.Writer) int {
	if len(args) != 3 || args[0] != "dhclient" || (args[1] != "stop" && args[1] != "forcestop") {
		fmt.Fprintf(stderr, "service: unsupported %q\n", args)
		return 64
	}
	ifname := args[2]
	if args[1] == "stop" && !dhcpIf(st, ifname) {
		fmt.Fprintf(stdout, "'%s' is not a DHCP-enabled interface\n", ifname)
		return 1
	}
	if !st.Dhclient[ifname] {
		fmt.Fprintf(stdout, "dhclient not running? (check /var/run/dhclient/dhclient.%s.pid).\n", ifname)
		return 1
	}
	delete(st.Dhclient, ifname)
	return 0
}

// dhcpIf is network.subr's dhcpif for the interfaces the fake knows:
// ifconfig_IF, or ifconfig_DEFAULT when that is unset, holds DHCP,
// SYNCDHCP or NOSYNCDHCP in any case.
func dhcpIf(st *State, ifname string) bool {
	v, ok := st.RC["ifconfig_"+ifname]
	if !ok {
		v = st.RC["ifconfig_DEFAULT"]
	}
	for _, w := range strings.Fields(v) {
		switch strings.ToUpper(w) {
		case "DHCP", "SYNCDHCP", "NOSYNCDHCP":
			return true
		}
	}
	return false
}

func sysctl(st *State, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "-n" {
		fmt.Fprintln(stderr, "usage: sysctl -n name")
		return 64
	}
	v, ok := st.Sysctl[args[1]]
	if !ok {
		fmt.Fprintf(stderr, "sysctl: unknown oid '%s'\n", args[1])
		return 1
	}
	fmt.Fprintln(stdout, v)
	return 0
}

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
	for k := 0; k < len(args); k++ {
		switch a := args[k]; {
		case a == "up":
			i.Up = true
		case a == "down":
			i.Up = false
		case a == "-alias":
			if len(i.Inet) == 0 {
				fmt.Fprintf(stderr, "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n")
				return 1
			}
			i.Inet = i.Inet[1:]
		case (a == "laggproto" || a == "laggport" || a == "inet") && k+1 < len(args):
			k++
			switch a {
			case "laggproto":
				i.Proto = args[k]
			case "laggport":
				if st.Ifaces[args[k]] == nil {
					fmt.Fprintf(stderr, "ifconfig: SIOCSLAGGPORT: No such file or directory\n")
					return 1
				}
				if !slices.Contains(i.Ports, args[k]) {
					i.Ports = append(i.Ports, args[k])
				}
			case "inet":
				if k+1 < len(args) && (args[k+1] == "delete" || args[k+1] == "-alias") {
					k++
					if !removeInet(i, args[k-1]) {
						fmt.Fprintf(stderr, "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n")
						return 1
					}
					continue
				}
				i.Inet = append(i.Inet, args[k])
			}
		default:
			i.Args = append(i.Args, a)
		}
	}
	return 0
}

func printIface(w io.Writer, name string, i *Iface) {
	flags := "BROADCAST,SIMPLEX,MULTICAST"
	if i.Up {
		flags = "UP," + flags
	}
	fmt.Fprintf(w, "%s: flags=8843<%s> metric 0 mtu 1500\n", name, flags)
	for _, a := range i.Inet {
		addr, bits, _ := strings.Cut(a, "/")
		n, err := strconv.Atoi(bits)
		if err != nil || n < 0 || n > 32 {
			n = 32
		}
		fmt.Fprintf(w, "\tinet %s netmask %#08x\n", addr, uint32(0xffffffff)<<(32-n))
	}
	if i.Proto != "" {
		fmt.Fprintf(w, "\tlaggproto %s lagghash l2,l3,l4\n", i.Proto)
	}
	for _, p := range i.Ports {
		fmt.Fprintf(w, "\tlaggport: %s flags=0<>\n", p)
	}
}

// removeInet deletes the address a (without prefix length) from i.
func removeInet(i *Iface, a string) bool {
	for k, have := range i.Inet {
		if addr, _, _ := strings.Cut(have, "/"); addr == a {
			i.Inet = slices.Delete(i.Inet, k, k+1)
			return true
		}
	}
	return false
}
