// Command fakecmd is the simulated sysctl, ifconfig, sysrc, service and
// dhclient of package vftest: World.Install links it under those names,
// and it acts on the state file named by $HVAGENT_VFTEST_STATE.
package main

import (
	"os"

	"github.com/hvagent/hvagent/vf/vftest"
)

func main() {
	os.Exit(vftest.Main(os.Args, os.Stdout, os.Stderr))
}
