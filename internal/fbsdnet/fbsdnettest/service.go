package fbsdnettest

import (
	"fmt"
	"io"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// service models "service dhclient CMD IF" as libexec/rc/rc.d/dhclient
// runs under rc.subr's run_rc_command. CMD is start, stop or restart,
// each optionally prefixed "force" (rc_force). dhclient_pre_check, the
// stop and start precmd, refuses an interface network.subr's dhcpif
// does not find DHCP, SYNCDHCP or NOSYNCDHCP for in rc.conf (ifconfig_IF,
// or ifconfig_DEFAULT when that is unset) unless forced, printing
// "'IF' is not a DHCP-enabled interface" and exiting 1. stop fails when
// no dhclient runs on IF, as rc.subr does when the pidfile names no
// process; restart runs stop, whatever it returns, then start.
func service(st *State, args []string, stdout, stderr io.Writer) int {
	if len(args) != 3 || args[0] != "dhclient" {
		fmt.Fprintf(stderr, "service: unsupported %q\n", args)
		return 64
	}
	cmd, forced := strings.CutPrefix(args[1], "force")
	ifname := args[2]
	switch cmd {
	case "start", "stop", "restart":
	default:
		fmt.Fprintf(stderr, "service: unsupported %q\n", args)
		return 64
	}
	if !forced && !st.RCConf().IfConfig(ifname).DHCP() {
		fmt.Fprintf(stdout, "'%s' is not a DHCP-enabled interface\n", ifname)
		return 1
	}
	if cmd == "stop" || cmd == "restart" {
		if !st.Dhclient[ifname] && cmd == "stop" {
			fmt.Fprintf(stdout, "dhclient not running? (check /var/run/dhclient/dhclient.%s.pid).\n", ifname)
			return 1
		}
		delete(st.Dhclient, ifname)
		if cmd == "stop" {
			return 0
		}
	}
	return dhclient(st, []string{ifname}, stderr)
}

// dhclient starts a DHCP client on its last argument, which must exist.
func dhclient(st *State, args []string, stderr io.Writer) int {
	if len(args) == 0 || st.Ifaces[args[len(args)-1]] == nil {
		fmt.Fprintf(stderr, "dhclient: %q: no such interface\n", args)
		return 1
	}
	st.Dhclient[args[len(args)-1]] = true
	return 0
}

// RCConf is the state's rc.conf as package fbsdnet reads it.
func (st *State) RCConf() fbsdnet.Vars { return fbsdnet.Vars(st.RC) }
