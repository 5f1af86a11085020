package netinfo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// fakeRCConfEnv names the rc.conf the fake service(8) reads, as rc.subr
// reads /etc/rc.conf.
const fakeRCConfEnv = "HVAGENT_FAKE_RCCONF"

// fakeResolvconfEnv names the state directory of the fake resolvconf(8).
const fakeResolvconfEnv = "HVAGENT_FAKE_RESOLVCONF"

// fakeResolvconf models openresolv's record keeping: -a <name> stores
// standard input as the record interfaces/<name>, -d <name> removes it.
func fakeResolvconf(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: resolvconf -a|-d name")
	}
	path := filepath.Join(os.Getenv(fakeResolvconfEnv), "interfaces", args[1])
	switch args[0] {
	case "-a":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		return os.WriteFile(path, b, 0o644)
	case "-d":
		return os.Remove(path)
	}
	return errors.New("usage: resolvconf -a|-d name")
}

// fakeSysrc does what sysrc(8) -f file [-x] name[=value] ... does to
// the file: assignments replace the variable's line or are appended,
// -x removes it. It is also the model the tests check rc.conf against.
func fakeSysrc(args []string) error {
	if len(args) < 2 || args[0] != "-f" {
		return errors.New("usage: sysrc -f file [-x] name[=value] ...")
	}
	path := args[1]
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	out := sysrcEdit(string(b), args[2:])
	return os.WriteFile(path, []byte(out), 0o644)
}

func sysrcEdit(content string, args []string) string {
	del := len(args) > 0 && args[0] == "-x"
	if del {
		args = args[1:]
	}
	lines := strings.SplitAfter(content, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for _, a := range args {
		name, val, _ := strings.Cut(a, "=")
		var kept []string
		replaced := false
		for _, l := range lines {
			if n, _, ok := strings.Cut(strings.TrimSpace(l), "="); ok && n == name {
				if !del && !replaced {
					kept = append(kept, fmt.Sprintf("%s=%q\n", name, val))
					replaced = true
				}
				continue
			}
			kept = append(kept, l)
		}
		if !del && !replaced {
			kept = append(kept, fmt.Sprintf("%s=%q\n", name, val))
		}
		lines = kept
	}
	return strings.Join(lines, "")
}

// fakeServicePrecheck models rc.d/dhclient's dhclient_pre_check: start,
// stop and restart (not their force variants) exit 1 "'<if>' is not a
// DHCP-enabled interface" unless ifconfig_<if> in rc.conf asks for
// DHCP. It returns that message, or "" when the command may proceed.
func fakeServicePrecheck(args []string) string {
	if len(args) != 3 || args[0] != "dhclient" {
		return ""
	}
	switch args[1] {
	case "start", "stop", "restart":
	default:
		return ""
	}
	b, _ := os.ReadFile(os.Getenv(fakeRCConfEnv))
	if fbsdnet.Parse(b).IfConfig(args[2]).DHCP() {
		return ""
	}
	return fmt.Sprintf("'%s' is not a DHCP-enabled interface", args[2])
}
