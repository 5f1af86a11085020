package netinfo

import (
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// sysCache keeps what GET_IP_INFO read from the system for the next
// request, each part with the cheapest check that it is still true:
//   - the interfaces, their addresses and the default routes, while a
//     change-notification socket (netWatch) has reported nothing since
//     they were read; without one (other systems, or the Service reads
//     them through Config.Links/Routes) they are read for every request;
//   - rc.conf and resolv.conf, parsed, while stat(2) finds the file as
//     it was (fileSig);
//   - whether a dhclient process runs for an interface (Linux procfs),
//     see procDHClient;
//   - on a Linux system, the interface's owner and its DNS servers, while
//     stat(2) finds every file they were computed from as it was, an
//     absent one still absent (linuxcache.go).
type sysCache struct {
	mu sync.Mutex

	system      bool      // links and routes are the system's: watch them
	watch       *netWatch // opened by the first request; nil: none (yet)
	watchFailed bool
	have        bool // links and routes hold what the last read found
	links       []Link
	routes      []Route
	gen         uint64 // counts reads of links and routes

	rcconf cachedFile[fbsdnet.Vars]
	resolv cachedFile[[]netip.Addr]
	procs  map[string]procVerdict // by interface name

	owners    map[ownerKey]treeResult[LinuxOwner]
	dnsByLink map[dnsKey]treeResult[[]netip.Addr]
}

// netWatch is a socket on which the kernel announces changes of links,
// addresses and routes (netwatch_linux.go).
type netWatch struct {
	fd  int
	buf []byte
}

// network returns the links and the default routes, from memory when
// the watch reports no change since they were read. The watch is drained
// before the system is read, so a change made after that read is
// reported at the next request. Failures are not kept: the next request
// reads again. routesErr is only a warning: the links still go out.
//
// On a Linux system the system's links and routes are rtnetlink's
// (linuxLinks, linuxRoutes: with interface indexes and masters, and the
// main table's default routes only).
func (c *sysCache) network(cfg *Config) (links []Link, routes []Route, routesErr, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	readLinks, readRoutes := cfg.Links, cfg.Routes
	if c.system && cfg.Linux {
		readLinks, readRoutes = linuxLinks, linuxRoutes
	}
	w := c.watcher()
	if w == nil {
		links, err = readLinks()
		if err != nil {
			return nil, nil, nil, err
		}
		routes, routesErr = readRoutes()
		c.gen++
		return links, routes, routesErr, nil
	}
	if changed := w.changed(); c.have && !changed {
		return c.links, c.routes, nil, nil
	}
	c.have = false
	c.gen++
	if links, err = readLinks(); err != nil {
		return nil, nil, nil, err
	}
	if routes, routesErr = readRoutes(); routesErr == nil {
		c.links, c.routes, c.have = links, routes, true
	}
	return links, routes, routesErr, nil
}

// watcher opens the change-notification socket on first use; the
// Service has no Close, so a cleanup closes it with the cache.
func (c *sysCache) watcher() *netWatch {
	if c.watch != nil || !c.system || c.watchFailed {
		return c.watch
	}
	w, err := openNetWatch()
	if err != nil {
		c.watchFailed = true
		return nil
	}
	runtime.AddCleanup(c, func(fd int) { unix.Close(fd) }, w.fd)
	c.watch = w
	return w
}

// rcConf returns the parsed rc.conf at path (empty if unreadable).
func (c *sysCache) rcConf(path string) fbsdnet.Vars {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rcconf.load(path, fbsdnet.Parse)
}

// resolvConf returns resolv.conf's nameservers (none if unreadable).
func (c *sysCache) resolvConf(path string) []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resolv.load(path, nameservers)
}

// fileSig is what stat(2) says of a file that any change moves: an
// append or a truncation the size, a write in place the mtime and the
// ctime, a new file renamed over the path the inode.
type fileSig struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

func statSig(path string) (fileSig, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileSig{}, err
	}
	return fileSig{
		dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, nil
}

// racyWindow: a file changed this recently may change again within the
// same tick of the file system's clock and keep its size, mtime and
// ctime, so what was read then is not kept (the KVP pool's read path
// reasons the same way, kvp/pool_state.go: Linux stamps files from the
// coarse clock, current_time in fs/inode.c, at most 10 ms a tick).
const racyWindow = 20 * time.Millisecond

func (s fileSig) racy(now time.Time) bool {
	return now.UnixNano()-max(s.mtime, s.ctime) < int64(racyWindow)
}

// cachedFile is a file's parsed content and the fileSig it was read at.
type cachedFile[T any] struct {
	sig fileSig
	ok  bool
	v   T
}

// load returns parse of path's content, from memory when stat finds the
// file as it was read; a missing or unreadable file is parse(nil). The
// signature is taken before the read, so a change racing the read makes
// the next load read again.
func (f *cachedFile[T]) load(path string, parse func([]byte) T) T {
	sig, err := statSig(path)
	if err != nil {
		f.ok = false
		return parse(nil)
	}
	if f.ok && f.sig == sig {
		return f.v
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.ok = false
		return parse(nil)
	}
	f.sig, f.v, f.ok = sig, parse(b), !sig.racy(time.Now())
	return f.v
}

// procRescan bounds how long "no dhclient runs for this interface" is
// believed without a change of links, addresses or routes.
const procRescan = 10 * time.Second

// procVerdict is what the last procfs scan found for an interface: the
// dhclient's pid, or "" for none, at which network read (gen) and when.
type procVerdict struct {
	pid string
	gen uint64
	at  time.Time
}

// procDHClient reports whether a dhclient process runs for ifname,
// without listing every process for each request where it can: a
// dhclient found before is checked again by its pid alone (it still
// exists and is a dhclient for ifname); "none" stands until the watch
// reports a change of links, addresses or routes — a DHCP client at work
// makes them — or for procRescan. Without a watch every call scans.
func (c *sysCache) procDHClient(procDir, ifname string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch == nil {
		_, ok := scanDHClient(procDir, ifname)
		return ok
	}
	v, seen := c.procs[ifname]
	switch {
	case seen && v.pid != "" && isDHClientFor(procDir, v.pid, ifname):
		return true
	case seen && v.pid == "" && v.gen == c.gen && time.Since(v.at) < procRescan:
		return false
	}
	pid, ok := scanDHClient(procDir, ifname)
	if c.procs == nil {
		c.procs = map[string]procVerdict{}
	}
	c.procs[ifname] = procVerdict{pid: pid, gen: c.gen, at: time.Now()}
	return ok
}
