// Command fakecmd stands in for sysrc, ifconfig, route and service in
// the end-to-end tests: started under one of those names (a symlink), it
// appends its argument vector as a JSON line to $HVAGENT_FAKE_LOG and
// exits 0. As sysrc it also makes the change to the -f file, as sysrc(8)
// does; as service it models rc.d/dhclient's precheck, which refuses
// start, stop and restart (not their force forms) for an interface that
// $HVAGENT_FAKE_RCCONF does not mark DHCP. It is a separate small
// program, not the race-enabled test binary, so that a SET_IP_INFO fits
// the agent's 4-second budget.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	name := filepath.Base(os.Args[0])
	argv := append([]string{name}, os.Args[1:]...)
	line, _ := json.Marshal(argv)
	f, err := os.OpenFile(os.Getenv("HVAGENT_FAKE_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintf(f, "%s\n", line)
	f.Close()
	switch name {
	case "sysrc":
		if err := sysrc(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "sysrc:", err)
			os.Exit(1)
		}
	case "service":
		if msg := dhclientPrecheck(os.Args[1:]); msg != "" {
			fmt.Println(msg)
			os.Exit(1)
		}
	}
}

// sysrc handles 'sysrc -f file [-x] name[=value] ...'.
func sysrc(args []string) error {
	if len(args) < 2 || args[0] != "-f" {
		return fmt.Errorf("want -f file, got %q", args)
	}
	b, err := os.ReadFile(args[1])
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	vars := args[2:]
	del := len(vars) > 0 && vars[0] == "-x"
	if del {
		vars = vars[1:]
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 {
		lines = nil
	}
	for _, v := range vars {
		name, val, _ := strings.Cut(v, "=")
		assign := fmt.Sprintf("%s=%q", name, val)
		var out []string
		done := del
		for _, l := range lines {
			if n, _, ok := strings.Cut(strings.TrimSpace(l), "="); ok && n == name {
				if !done {
					out = append(out, assign) // in place, as sysrc does
					done = true
				}
				continue
			}
			out = append(out, l)
		}
		if !done {
			out = append(out, assign)
		}
		lines = out
	}
	return os.WriteFile(args[1], []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// dhclientPrecheck is rc.d/dhclient's dhclient_pre_check: the message
// and exit 1 unless ifconfig_<if> holds DHCP, SYNCDHCP or NOSYNCDHCP.
func dhclientPrecheck(args []string) string {
	if len(args) != 3 || args[0] != "dhclient" || (args[1] != "start" && args[1] != "stop" && args[1] != "restart") {
		return ""
	}
	b, _ := os.ReadFile(os.Getenv("HVAGENT_FAKE_RCCONF"))
	key := "ifconfig_" + args[2] + "="
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), key); ok {
			for _, w := range strings.Fields(strings.Trim(v, `"'`)) {
				switch strings.ToUpper(w) {
				case "DHCP", "SYNCDHCP", "NOSYNCDHCP":
					return ""
				}
			}
		}
	}
	return fmt.Sprintf("'%s' is not a DHCP-enabled interface", args[2])
}
