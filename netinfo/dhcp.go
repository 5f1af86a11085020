package netinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dhclientRunning reports whether a DHCP client runs for ifname: on
// FreeBSD dhclient(8) keeps /var/run/dhclient/dhclient.<if>.pid
// (/var/run/dhclient.<if>.pid before FreeBSD 12); on Linux, where there
// is no such convention, a dhclient process with ifname among its
// arguments is looked for in procDir ("-": not at all, the default
// elsewhere). Names are compared exactly.
func dhclientRunning(runDir, procDir, ifname string) bool {
	for _, p := range []string{
		filepath.Join(runDir, "dhclient", "dhclient."+ifname+".pid"),
		filepath.Join(runDir, "dhclient."+ifname+".pid"),
	} {
		if pidAlive(p) {
			return true
		}
	}
	return procDir != "-" && procHasDHClient(procDir, ifname)
}

func pidAlive(pidfile string) bool {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// procHasDHClient looks through procDir for a dhclient (or dhclient3)
// whose argument vector holds ifname as a whole argument. The program
// is told by the target of <pid>/exe, one readlink per process; only a
// dhclient's cmdline is read.
func procHasDHClient(procDir, ifname string) bool {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if c := e.Name()[0]; c < '0' || c > '9' {
			continue
		}
		exe, err := os.Readlink(filepath.Join(procDir, e.Name(), "exe"))
		if err != nil {
			continue
		}
		if base := filepath.Base(exe); base != "dhclient" && base != "dhclient3" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		for _, a := range argv[1:] {
			if string(a) == ifname {
				return true
			}
		}
	}
	return false
}
