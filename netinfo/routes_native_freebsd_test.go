//go:build freebsd

package netinfo

// A FreeBSD-native test of SystemRoutes: the routing-socket reader runs
// inside a vnet jail the test creates, whose only interface is one end
// of an epair(4) with addresses and default routes the test gives it, so
// the machine's own interfaces and routes are never touched or read. It
// needs root, jail(8) with VIMAGE and epair(4); without them it skips,
// except under CI=true (.github/workflows/freebsd.yml), where it fails.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/nativetest"
)

// routesHelperEnv makes TestNativeRoutesHelper print SystemRoutes as JSON:
// the test binary runs itself with it inside the jail (jexec).
const routesHelperEnv = "HVAGENT_NATIVE_ROUTES_HELPER"

// TestNativeRoutesHelper is not a test on its own: run with
// routesHelperEnv set (inside the jail), it prints what SystemRoutes reads.
func TestNativeRoutesHelper(t *testing.T) {
	if os.Getenv(routesHelperEnv) != "1" {
		t.Skip("helper: runs only inside the jail of TestNativeRoutesInVnetJail")
	}
	routes, err := SystemRoutes()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(routes)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ROUTES %s\n", b)
}

func TestNativeRoutesInVnetJail(t *testing.T) {
	nativetest.Need(t, os.Geteuid() == 0, "needs root to create a jail")
	for _, tool := range []string{"jail", "jexec", "ifconfig", "route"} {
		_, err := exec.LookPath(tool)
		nativetest.Need(t, err == nil, tool+" not found")
	}
	vimage, err := exec.Command("sysctl", "-n", "kern.features.vimage").Output()
	nativetest.Need(t, err == nil && strings.TrimSpace(string(vimage)) == "1", "kernel without VIMAGE (no vnet jails)")

	out, err := exec.Command("ifconfig", "epair", "create").CombinedOutput()
	nativetest.Need(t, err == nil, "no epair(4): ifconfig epair create: "+strings.TrimSpace(string(out)))
	a := strings.TrimSpace(string(out))
	b := strings.TrimSuffix(a, "a") + "b"
	t.Cleanup(func() {
		// The jail is gone by now (cleanups run in reverse), so both
		// ends are back in the host's vnet: destroying one destroys both.
		if out, err := exec.Command("ifconfig", a, "destroy").CombinedOutput(); err != nil {
			t.Errorf("ifconfig %s destroy: %v\n%s", a, err, out)
		}
	})

	// A persistent vnet jail sharing the host's filesystem (path "/"),
	// holding end b, so the test binary can run inside it.
	name := fmt.Sprintf("hvagent_routes_%d", os.Getpid())
	nativetest.Run(t, "jail", "-c", "name="+name, "path=/", "vnet", "persist", "vnet.interface="+b)
	t.Cleanup(func() {
		if out, err := exec.Command("jail", "-r", name).CombinedOutput(); err != nil {
			t.Errorf("jail -r %s: %v\n%s", name, err, out)
		}
	})
	in := func(argv ...string) string {
		t.Helper()
		return nativetest.Run(t, append([]string{"jexec", name}, argv...)...)
	}
	// Documentation prefixes (RFC 5737, RFC 3849) inside the jail's own
	// stack: nothing is ever sent.
	in("ifconfig", b, "inet", "192.0.2.2/24", "up")
	in("route", "-4", "add", "default", "192.0.2.1")
	in("ifconfig", b, "inet6", "-ifdisabled", "no_dad")
	in("ifconfig", b, "inet6", "2001:db8:7::2", "prefixlen", "64")
	in("route", "-6", "add", "default", "2001:db8:7::1")

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw := in("env", routesHelperEnv+"=1", exe, "-test.run=^TestNativeRoutesHelper$", "-test.count=1", "-test.v")
	var got []Route
	for _, line := range strings.Split(raw, "\n") {
		if j, ok := strings.CutPrefix(line, "ROUTES "); ok {
			if err := json.Unmarshal([]byte(j), &got); err != nil {
				t.Fatalf("helper output %q: %v", j, err)
			}
		}
	}
	want := []Route{
		{Link: b, Gateway: netip.MustParseAddr("192.0.2.1")},
		{Link: b, Gateway: netip.MustParseAddr("2001:db8:7::1")},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("SystemRoutes in the jail = %v, want %v\nhelper output:\n%s", got, want, raw)
	}
}
