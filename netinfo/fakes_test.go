package netinfo

import (
	"path/filepath"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
)

// seed makes the simulated system what links and routes say: the
// interfaces with their addresses, the default routes.
func (e *applyEnv) seed(links []Link, routes []Route) {
	e.update(func(st *fbsdnettest.State) {
		for _, l := range links {
			i := &fbsdnettest.Iface{Up: true}
			for _, p := range l.Addrs {
				if p.Addr().Is4() {
					i.Inet = append(i.Inet, p.String())
				} else {
					i.Inet6 = append(i.Inet6, p.String())
				}
			}
			st.Ifaces[l.Name] = i
		}
		for _, r := range routes {
			st.Routes[family(r.Gateway)] = r.Gateway.String()
		}
	})
}

func (e *applyEnv) update(fn func(*fbsdnettest.State)) {
	e.t.Helper()
	if err := e.world.Update(fn); err != nil {
		e.t.Fatal(err)
	}
}

// fail makes the commands named, with all the words given, fail.
func (e *applyEnv) fail(cmd string) {
	e.update(func(st *fbsdnettest.State) { st.Fail = map[string]int{cmd: 1} })
}

// block makes a command wait for release.
func (e *applyEnv) block(name string) {
	e.update(func(st *fbsdnettest.State) { st.Block = []string{name} })
}

func (e *applyEnv) release() {
	e.t.Helper()
	if err := e.world.Release(); err != nil {
		e.t.Fatal(err)
	}
}

// dhclient makes a DHCP client run for ifname: its pidfile names a
// live process (this one), and the simulated system runs one.
func (e *applyEnv) dhclient(ifname string) {
	write(e.t, filepath.Join(e.dir, "run", "dhclient", "dhclient."+ifname+".pid"), "1\n")
	e.update(func(st *fbsdnettest.State) { st.Dhclient[ifname] = true })
}
