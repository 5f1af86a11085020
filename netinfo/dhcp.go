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
// (/var/run/dhclient.<if>.pid before FreeBSD 12), and Debian's ifupdown
// starts dhclient with -pf /run/dhclient.<if>.pid; on Linux, where no
// convention covers every dhclient, one with ifname among its arguments
// is also looked for in procDir ("-": not at all, the default
// elsewhere). Names are compared exactly.
func dhclientRunning(runDir, procDir, ifname string) bool {
	if dhclientPidfile(runDir, ifname) {
		return true
	}
	_, ok := scanDHClient(procDir, ifname)
	return ok
}

// dhclientPidfile reports whether one of dhclient's pidfiles for ifname
// names a live process, as rc.d/dhclient checks it (a read and a
// kill(pid, 0); a missing pidfile is one failed open).
func dhclientPidfile(runDir, ifname string) bool {
	for _, p := range []string{
		filepath.Join(runDir, "dhclient", "dhclient."+ifname+".pid"),
		filepath.Join(runDir, "dhclient."+ifname+".pid"),
	} {
		if pidAlive(p) {
			return true
		}
	}
	return false
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

// scanDHClient looks through procDir for a dhclient whose argument
// vector holds ifname and returns its pid; procDir "-" is none.
func scanDHClient(procDir, ifname string) (pid string, ok bool) {
	if procDir == "-" {
		return "", false
	}
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return "", false
	}
	for _, e := range ents {
		if c := e.Name()[0]; c < '0' || c > '9' {
			continue
		}
		if isDHClientFor(procDir, e.Name(), ifname) {
			return e.Name(), true
		}
	}
	return "", false
}

// isDHClientFor reports whether process pid is a dhclient (or dhclient3)
// with ifname as a whole argument. The program is told by the target of
// <pid>/exe, one readlink; only a dhclient's cmdline is read.
func isDHClientFor(procDir, pid, ifname string) bool {
	exe, err := os.Readlink(filepath.Join(procDir, pid, "exe"))
	if err != nil {
		return false
	}
	if base := filepath.Base(exe); base != "dhclient" && base != "dhclient3" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(procDir, pid, "cmdline"))
	if err != nil || len(b) == 0 {
		return false
	}
	argv := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	for _, a := range argv[1:] {
		if string(a) == ifname {
			return true
		}
	}
	return false
}
