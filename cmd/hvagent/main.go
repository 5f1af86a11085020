package main

import (
	"fmt"
	"io"
	"os"
	"strings"
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
	case cmd == "version" || cmd == "--version" || cmd == "-version" || cmd == "-v":
		fmt.Fprintf(stdout, "hvagent %s (revision %s)\n", version(), revision())
		return exitOK
	case cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(cmd) > 1 && cmd[0] == '-':
		// hv_kvp_daemon -n / -d compatibility: flags alone mean "run".
		return runDaemon(args, stderr)
	default:
		return usageError(stderr, "", fmt.Errorf("unknown command %q", cmd))
	}
}

// Every error the commands print is one line, "hvagent: <what>: <why>",
// where <what> names the command ("kvp set") and <why> is the error;
// a usage error ends with where to find the usage. hvagent(8) EXIT
// STATUS documents the statuses.

// usageError prints err as a usage error of command cmd ("" for hvagent
// itself) and returns exitUsage.
func usageError(stderr io.Writer, cmd string, err error) int {
	help := "hvagent help"
	if cmd != "" {
		help = "hvagent " + cmd + " --help"
	}
	fmt.Fprintf(stderr, "%s; see '%s'\n", errorLine(cmd, flagError(err)), help)
	return exitUsage
}

// failure prints err as the failure of command cmd and returns exitError.
func failure(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintln(stderr, errorLine(cmd, err))
	return exitError
}

// errorLine is "hvagent: <cmd>: <err>" on one line. Errors of the kvp
// package start with "kvp: " at each level of wrapping; after the
// command's name that says nothing more, and is dropped.
func errorLine(cmd string, err error) string {
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "kvp: "), ": kvp: ", ": ")
	msg = strings.ReplaceAll(msg, "\n", " ")
	if cmd == "" {
		return "hvagent: " + msg
	}
	return "hvagent: " + cmd + ": " + msg
}

// flagError restates the flag package's errors for an unknown flag or a
// missing value with the flag spelled as the manual spells it.
func flagError(err error) error {
	msg := err.Error()
	for _, r := range [...]struct{ prefix, say string }{
		{"flag provided but not defined: -", "unknown flag "},
		{"flag needs an argument: -", "flag needs a value: "},
	} {
		if name, ok := strings.CutPrefix(msg, r.prefix); ok {
			if len(name) > 1 {
				name = "-" + name
			}
			return fmt.Errorf("%s-%s", r.say, name)
		}
	}
	// invalid value "x" for flag -name: why
	if before, after, ok := strings.Cut(msg, " for flag -"); ok && strings.HasPrefix(before, "invalid value ") {
		if name, _, _ := strings.Cut(after, ":"); len(name) > 1 {
			return fmt.Errorf("%s for flag --%s", before, after)
		}
	}
	return err
}

const usage = `usage: hvagent run [flags]
       hvagent kvp list [--pool P] [--pool-dir DIR] [--json]
       hvagent kvp get --pool P [--pool-dir DIR] [--json] KEY
       hvagent kvp set --pool P [--pool-dir DIR] [--max-records N] KEY VALUE
       hvagent kvp delete --pool P [--pool-dir DIR] KEY
       hvagent doctor [--json] [flags]
       hvagent version

Pools: external (0), guest (1), auto (2), auto_external (3), auto_internal (4).
'hvagent run --help' lists the daemon's flags; 'hvagent doctor' takes the
same flags and checks what the daemon would use. See hvagent(8).
`
