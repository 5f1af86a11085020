// Command hvagent is the Hyper-V / Azure guest agent for FreeBSD: it
// replaces hv_kvp_daemon, hv_vss_daemon and the hyperv_vf* scripts with
// one daemon serving Prometheus metrics. See hvagent(8).
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses (documented in hvagent(8)).
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run dispatches a command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch cmd := args[0]; {
	case cmd == "run":
		return runDaemon(args[1:], stderr)
	case cmd == "kvp":
		return runKVP(args[1:], stdout, stderr)
	case cmd == "doctor":
		return runDoctor(args[1:], stdout, stderr)
	case cmd == "version" || cmd == "--version":
		fmt.Fprintf(stdout, "hvagent %s (revision %s)\n", version(), revision())
		return exitOK
	case cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(cmd) > 1 && cmd[0] == '-':
		// hv_kvp_daemon -n / -d compatibility: flags alone mean "run".
		return runDaemon(args, stderr)
	default:
		fmt.Fprintf(stderr, "hvagent: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

const usage = `usage: hvagent run [flags]
       hvagent kvp list [--pool P] [--pool-dir DIR] [--json]
       hvagent kvp get --pool P [--pool-dir DIR] KEY
       hvagent kvp set --pool P [--pool-dir DIR] KEY VALUE
       hvagent kvp delete --pool P [--pool-dir DIR] KEY
       hvagent doctor [--json] [flags]
       hvagent version

Pools: external (0), guest (1), auto (2), auto_external (3), auto_internal (4).
'hvagent run --help' lists the daemon's flags; 'hvagent doctor' takes the
same flags and checks what the daemon would use. See hvagent(8).
`
