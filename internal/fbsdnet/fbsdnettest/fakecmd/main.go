// Command fakecmd is the simulated FreeBSD system of package
// fbsdnettest: World.Install links it under the fake commands' names,
// and it acts on the state named by $HVAGENT_VFTEST_STATE. It is a
// small program apart from the (race-enabled) test binaries, so that
// each command starts in milliseconds: flap storms stay quick, and a
// SET_IP_INFO fits the agent's budget.
package main

import (
	"os"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
)

func main() {
	os.Exit(fbsdnettest.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
