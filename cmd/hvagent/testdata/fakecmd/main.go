// Command fakecmd stands in for sysrc, ifconfig, route and service in
// the end-to-end tests: started under one of those names (a symlink), it
// appends its argument vector as a JSON line to $HVAGENT_FAKE_LOG and
// exits 0. It is a separate small program, not the race-enabled test
// binary, so that a SET_IP_INFO fits the agent's 4-second budget.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	argv := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	line, _ := json.Marshal(argv)
	f, err := os.OpenFile(os.Getenv("HVAGENT_FAKE_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\n", line)
}
