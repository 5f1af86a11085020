package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// netvscSim is the VF side of the demo on the Linux protocol: a network
// namespace of the demo's own standing in for a Linux guest on Hyper-V,
// where the agent runs and follows hv_netvsc through rtnetlink as on a
// real guest. Nothing outside the namespace changes, and the namespace
// is removed when the demo ends.
//
//   - eth0, the synthetic NIC, is a bridge, so that another link can have
//     it as IFLA_MASTER; a sysfs stand-in tree under the demo's
//     directory names hv_netvsc its driver (the agent's --vf.sys-root).
//   - enP30832s1, the VF, is a veth end with eth0's MAC (the VF shares the
//     synthetic NIC's MAC), enslaved to eth0 and up: the data path is on
//     it.
//   - Servicing does with ip(8) what hv_netvsc does to the links when the
//     host removes and returns the VF, and writes hv_netvsc's kernel-log
//     lines for each step into a FIFO the agent reads as its --vf.kmsg.
//
// The link events the agent sees are the kernel's own.
type netvscSim struct {
	ns       string // the namespace's name, for ip -n
	thread   *netns // a thread in it: the agent's start, the metrics relay's dials
	sysRoot  string
	kmsgPath string
	kmsg     *os.File // the FIFO, opened read-write: the agent's open never waits, and never sees EOF
	seq      int      // the kernel log's record number
	born     time.Time

	relay     net.Listener // the metrics address, outside the namespace
	agentAddr string       // the agent's metrics address inside it
	mu        sync.Mutex
	conns     map[net.Conn]bool
	wg        sync.WaitGroup
}

// The stand-in guest. The GUID is the synthetic NIC's VMBus instance,
// which hv_netvsc's kernel-log lines carry as the device's bus id.
const (
	netvscHN    = "eth0"
	netvscVF    = "enP30832s1" // an Azure VF's name (PCI domain 30832, slot 1)
	netvscPeer  = "vfpeer0"    // the veth's other end
	netvscMAC   = "00:15:5d:e2:e0:17"
	netvscGUID  = "6045bdb8-0bd2-6045-bdb8-0bd26045bdb8"
	netvscAddr  = "10.0.0.4/24"
	netvscAddr6 = "fd00::4/64"
	netvscGW    = "10.0.0.1"
)

// netnsRunDir is where ip(8) keeps the named network namespaces it makes
// ('ip netns add' bind-mounts /proc/self/ns/net there): iproute2,
// include/namespace.h, NETNS_RUN_DIR.
const netnsRunDir = "/var/run/netns"

// linuxVFUnavailable says why this machine cannot host the namespace,
// or "" when it can.
func linuxVFUnavailable() string {
	if runtime.GOOS != "linux" {
		return "this is " + runtime.GOOS + ", and the stand-in for hv_netvsc is a Linux network namespace"
	}
	if os.Geteuid() != 0 {
		return "not running as root, which making a network namespace needs"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "no ip(8) (iproute2) on PATH to make the network namespace with"
	}
	return ""
}

// newNetvscSim makes the namespace and its links, the sysfs stand-in
// and the kernel-log FIFO under dir.
func newNetvscSim(ctx context.Context, dir string) (_ *netvscSim, err error) {
	tag := make([]byte, 3)
	_, _ = rand.Read(tag)
	n := &netvscSim{
		ns:       fmt.Sprintf("hvsim-%d-%s", os.Getpid(), hex.EncodeToString(tag)),
		sysRoot:  filepath.Join(dir, "sys"),
		kmsgPath: filepath.Join(dir, "kmsg"),
		born:     time.Now(),
		conns:    map[net.Conn]bool{},
	}
	if err := runIP(ctx, "netns", "add", n.ns); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"}, // the agent's metrics server listens on 127.0.0.1
		// forward_delay 0: no bridge port state change comes later by itself.
		{"link", "add", netvscHN, "type", "bridge", "forward_delay", "0"},
		{"link", "set", netvscHN, "addrgenmode", "none"},
		{"link", "set", netvscHN, "address", netvscMAC},
		{"link", "set", netvscHN, "up"},
		{"address", "add", netvscAddr, "dev", netvscHN},
		{"address", "add", netvscAddr6, "dev", netvscHN, "nodad"}, // nodad: usable at once
		{"route", "add", "default", "via", netvscGW, "dev", netvscHN, "onlink"},
	} {
		if err := n.ip(ctx, args...); err != nil {
			return nil, err
		}
	}
	if err := n.addVF(ctx); err != nil {
		return nil, err
	}
	if err := n.ip(ctx, "link", "set", netvscVF, "up"); err != nil {
		return nil, err
	}
	if err := fakeSysfs(n.sysRoot, netvscHN); err != nil {
		return nil, err
	}
	if err := unix.Mkfifo(n.kmsgPath, 0o600); err != nil {
		return nil, fmt.Errorf("kernel log FIFO: %w", err)
	}
	if n.kmsg, err = os.OpenFile(n.kmsgPath, os.O_RDWR, 0); err != nil {
		return nil, err
	}
	if n.thread, err = enterNetns(n.ns); err != nil {
		return nil, err
	}
	return n, nil
}

// fakeSysfs makes root/class/net/NAME/device/driver a link to hv_netvsc's
// driver directory, as sysfs shows a synthetic NIC
// (Documentation/ABI/testing/sysfs-class-net; the driver is
// drivers/net/hyperv/netvsc_drv.c's netvsc_drv on the vmbus bus).
func fakeSysfs(root, name string) error {
	drv := filepath.Join(root, "bus", "vmbus", "drivers", "hv_netvsc")
	dev := filepath.Join(root, "class", "net", name, "device")
	for _, d := range []string{drv, dev} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return os.Symlink("../../../../bus/vmbus/drivers/hv_netvsc", filepath.Join(dev, "driver"))
}

// runIP runs ip(8) with args, its output in the error.
func runIP(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ip runs ip(8) in the namespace.
func (n *netvscSim) ip(ctx context.Context, args ...string) error {
	return runIP(ctx, append([]string{"-n", n.ns}, args...)...)
}

// addVF makes the VF: a veth end with the synthetic NIC's MAC, enslaved
// to it, down.
func (n *netvscSim) addVF(ctx context.Context) error {
	for _, args := range [][]string{
		{"link", "add", netvscVF, "type", "veth", "peer", "name", netvscPeer},
		{"link", "set", netvscVF, "addrgenmode", "none"},
		{"link", "set", netvscPeer, "addrgenmode", "none"},
		{"link", "set", netvscVF, "address", netvscMAC},
		{"link", "set", netvscVF, "master", netvscHN},
	} {
		if err := n.ip(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// logKernel writes one of hv_netvsc's kernel-log records about the VF,
// as /dev/kmsg shows it: "PRIO,SEQ,USEC,FLAGS;MESSAGE"
// (Documentation/ABI/testing/dev-kmsg), the message prefixed
// "hv_netvsc BUSID NAME: " by netdev_info (net/core/dev.c,
// __netdev_printk). A reader that is not there does not hold the demo
// up.
func (n *netvscSim) logKernel(msg string) error {
	n.seq++
	usec := time.Since(n.born).Microseconds()
	_ = n.kmsg.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := fmt.Fprintf(n.kmsg, "6,%d,%d,-;hv_netvsc %s %s: %s\n", n.seq, usec, netvscGUID, netvscHN, msg)
	return err
}

// The host's servicing as hv_netvsc lives it (drivers/net/hyperv/
// netvsc_drv.c): the VF going away first goes down (NETDEV_GOING_DOWN:
// netvsc_vf_changed switches the data path away, "Data path switched
// from VF"), then unregisters (NETDEV_UNREGISTER: netvsc_unregister_vf,
// "VF unregistering", the VF unlinked from the synthetic NIC); the VF
// coming back registers ("VF registering", netvsc_register_vf), is
// enslaved (netvsc_vf_join), and netvsc opens it (NETDEV_UP: "Data path
// switched to VF").

func (n *netvscSim) remove(ctx context.Context) error {
	if err := n.ip(ctx, "link", "set", netvscVF, "down"); err != nil {
		return err
	}
	if err := n.logKernel("Data path switched from VF: " + netvscVF); err != nil {
		return err
	}
	if err := n.ip(ctx, "link", "del", netvscVF); err != nil { // its peer goes with it
		return err
	}
	return n.logKernel("VF unregistering: " + netvscVF)
}

func (n *netvscSim) restore(ctx context.Context) error {
	if err := n.logKernel("VF registering: " + netvscVF); err != nil {
		return err
	}
	if err := n.addVF(ctx); err != nil {
		return err
	}
	if err := n.ip(ctx, "link", "set", netvscVF, "up"); err != nil {
		return err
	}
	return n.logKernel("Data path switched to VF: " + netvscVF)
}

func (n *netvscSim) hn() string     { return netvscHN }
func (n *netvscSim) vfName() string { return netvscVF }

// every is how often the host services the VF after the first round. A
// servicing is four state changes of eth0 here (the data path leaves
// the VF, the VF leaves, returns, carries the data path again), and more
// than 6 within a minute is a flap storm to the agent (stormChanges and
// stormWindow in vf/state.go). Seven would need parts of two
// servicings within a minute: the last three changes of one and the
// first four of the next span every+servicingGap, so one servicing a
// minute keeps every change in the log at INFO.
func (n *netvscSim) every() time.Duration { return time.Minute }

// agentArgs: Linux's observer, the stand-in sysfs tree, the FIFO.
func (n *netvscSim) agentArgs() []string {
	return []string{"--vf.protocol", "linux", "--vf.sys-root", n.sysRoot, "--vf.kmsg", n.kmsgPath}
}

// macs is the adapter the host asks GET_IP_INFO about: the stand-in
// synthetic NIC, the only one the agent sees in the namespace.
func (n *netvscSim) macs() []string {
	return []string{strings.ToUpper(strings.ReplaceAll(netvscMAC, ":", "-"))}
}

// listen serves the metrics address addr outside the namespace and
// relays each connection to the agent, which listens on the same port of
// the namespace's loopback. It returns the agent's address.
func (n *netvscSim) listen(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s: %w; choose another address with -listen", addr, err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	n.relay, n.agentAddr = l, net.JoinHostPort("127.0.0.1", port)
	n.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.wg.Go(func() { n.forward(c) })
		}
	})
	return n.agentAddr, nil
}

// forward copies between c and a connection to the agent made inside
// the namespace, until either side ends.
func (n *netvscSim) forward(c net.Conn) {
	var up net.Conn
	err := n.thread.do(func() (err error) {
		up, err = net.Dial("tcp", n.agentAddr)
		return err
	})
	if err != nil {
		c.Close()
		return
	}
	if !n.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	for _, p := range [][2]net.Conn{{up, c}, {c, up}} {
		go func() {
			_, _ = io.Copy(p[0], p[1])
			done <- struct{}{}
		}()
	}
	<-done
	c.Close()
	up.Close()
	<-done
	n.mu.Lock()
	delete(n.conns, c)
	delete(n.conns, up)
	n.mu.Unlock()
}

// track records the connections for close; false (and both closed)
// when the relay is closing.
func (n *netvscSim) track(cs ...net.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		n.conns[c] = true
	}
	return true
}

// start starts the agent inside the namespace.
func (n *netvscSim) start(cmd *exec.Cmd) error {
	return n.thread.do(cmd.Start)
}

// describe is the demo's line about the VF side.
func (n *netvscSim) describe() string {
	return fmt.Sprintf("hvsim: the agent runs in network namespace %s (the demo's own, removed at exit): %s stands in for "+
		"hv_netvsc's NIC (as %s says), %s, enslaved and up, for its VF, and %s for /dev/kmsg\n",
		n.ns, netvscHN, n.sysRoot, netvscVF, n.kmsgPath)
}

// counted are the series the agent counts from the kernel-log lines one
// servicing writes (hvagent_vf_kernel_events_total): the first round
// waits for them, so the lines are known to reach the agent, and they
// are left out of the demo's metrics block to keep the story on one
// screen.
func (n *netvscSim) counted() []string {
	var l []string
	for _, e := range []string{"switched_from_vf", "vf_unregistering", "vf_registering", "switched_to_vf"} {
		l = append(l, fmt.Sprintf(`hvagent_vf_kernel_events_total{event=%q,hn=%q}`, e, netvscHN))
	}
	return l
}

// close stops the relay and removes the namespace; the agent in it has
// exited by then.
func (n *netvscSim) close() {
	if n.relay != nil {
		n.relay.Close()
	}
	n.mu.Lock()
	for c := range n.conns {
		c.Close()
	}
	n.conns = nil
	n.mu.Unlock()
	n.wg.Wait()
	if n.thread != nil {
		n.thread.close()
	}
	if n.kmsg != nil {
		n.kmsg.Close()
	}
	// Not the caller's context: an interrupted demo still removes it.
	_ = runIP(context.Background(), "netns", "del", n.ns)
}
