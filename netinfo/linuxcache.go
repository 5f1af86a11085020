package netinfo

import (
	"net/netip"
)

// linuxCacheMax bounds the per-interface results kept: interfaces come
// and go (a VF at every host servicing), and a result for one that is
// gone is only dropped when the cache is emptied.
const linuxCacheMax = 64

// treeResult is a value computed from a linuxTree and the paths it was
// computed from.
type treeResult[T any] struct {
	deps treeDeps
	v    T
}

// loadTree returns m[key] while every path it was computed from is
// unchanged (one stat per path), else computes it again under root.
func loadTree[K comparable, T any](m *map[K]treeResult[T], key K, root string, compute func(*linuxTree) T) T {
	if r, ok := (*m)[key]; ok && r.deps.valid() {
		return r.v
	}
	t := newLinuxTree(root)
	v := compute(t)
	if *m == nil || len(*m) >= linuxCacheMax {
		*m = map[K]treeResult[T]{}
	}
	(*m)[key] = treeResult[T]{deps: t.snapshot(), v: v}
	return v
}

// ownerKey identifies an interface for LinuxOwnerOf's cached result.
type ownerKey struct {
	name  string
	index int
	mac   string
}

// linuxOwner returns LinuxOwnerOf(root, l), from memory while the files
// it read are as they were.
func (c *sysCache) linuxOwner(root string, l Link) LinuxOwner {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := ownerKey{name: l.Name, index: l.Index, mac: string(l.MAC)}
	return loadTree(&c.owners, key, root, func(t *linuxTree) LinuxOwner { return linuxOwner(t, l) })
}

// linuxDNS returns linuxDNS's servers for ifindex, from memory while
// resolv.conf and resolved's files are as they were.
func (c *sysCache) linuxDNS(root, resolvConf string, ifindex int) []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := dnsKey{resolvConf: resolvConf, index: ifindex}
	return loadTree(&c.dnsByLink, key, root, func(t *linuxTree) []netip.Addr { return linuxDNS(t, resolvConf, ifindex) })
}

type dnsKey struct {
	resolvConf string
	index      int
}

// linuxDNSOf: the DNS servers l uses on a Linux system.
func (s *Service) linuxDNSOf(l Link) []netip.Addr {
	return s.sys.linuxDNS(s.cfg.Root, s.cfg.ResolvConf, l.Index)
}

// linuxDHCPOf: the manager that owns l runs a DHCP client on it, or,
// for an interface no manager claims, a dhclient's pidfile names a live
// process (Debian's ifupdown and hand-started dhclients write
// /run/dhclient.IF.pid). No process list is read.
func (s *Service) linuxDHCPOf(l Link) bool {
	if o := s.sys.linuxOwner(s.cfg.Root, l); o.Manager != ManagerNone {
		return o.DHCP()
	}
	return dhclientPidfile(s.cfg.RunDir, l.Name)
}
