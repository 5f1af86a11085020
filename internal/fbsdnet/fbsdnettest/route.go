package fbsdnettest

import (
	"fmt"
	"io"
)

// route models "route -n add|delete -inet|-inet6 default [GW]"
// (sbin/route): one default route per family. Adding over an existing
// one fails "File exists", deleting a missing one "No such process", as
// the routing socket answers.
func route(st *State, args []string, stdout, stderr io.Writer) int {
	if len(args) < 4 || args[0] != "-n" || args[3] != "default" || (args[2] != "-inet" && args[2] != "-inet6") {
		fmt.Fprintf(stderr, "route: unsupported %q\n", args)
		return 64
	}
	fam := args[2][1:]
	_, exists := st.Routes[fam]
	switch {
	case args[1] == "add" && len(args) == 5:
		if exists {
			fmt.Fprintln(stderr, "route: writing to routing socket: File exists")
			return 1
		}
		st.Routes[fam] = args[4]
		fmt.Fprintf(stdout, "add net default: gateway %s\n", args[4])
		return 0
	case args[1] == "delete" && len(args) == 4:
		if !exists {
			fmt.Fprintln(stderr, "route: writing to routing socket: No such process")
			return 1
		}
		delete(st.Routes, fam)
		fmt.Fprintln(stdout, "delete net default")
		return 0
	}
	fmt.Fprintf(stderr, "route: unsupported %q\n", args)
	return 64
}
