package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// The adapter the GET_IP_INFO measurement asks about: a veth in a network
// namespace of the benchmark's own, with two IPv4 addresses and one IPv6
// address and a default route, as a guest's hn0 would have.
const (
	ipAdapter = "hvb0"
	ipPeer    = "hvb1"
	ipMAC     = "00:15:5d:00:0e:01"
)

var ipAddrs = []string{"192.0.2.10/24", "198.51.100.10/25", "2001:db8::10/64"}

// errNeedRoot says why the GET_IP_INFO measurement did not run.
var errNeedRoot = errors.New("the GET_IP_INFO measurement needs root and ip(8) with netns support")

// ipResult holds the times of the GET_IP_INFO requests and the reply.
type ipResult struct {
	proto kvp.Protocol
	times []time.Duration
	info  kvp.IPInfo
}

// measureIPInfo creates a network namespace with one veth adapter with
// three addresses, starts the agent inside it (ip netns exec) on files
// of its own, and times n GET_IP_INFO requests for the adapter's MAC
// through the socket transport, after an untimed warm-up.
func measureIPInfo(ctx context.Context, proto kvp.Protocol, bin, dir string, n int, log io.Writer) (ipResult, error) {
	r := ipResult{proto: proto}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	if os.Geteuid() != 0 {
		return r, errNeedRoot
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return r, fmt.Errorf("%w: %v", errNeedRoot, err)
	}
	ns := fmt.Sprintf("hvbench-%d", os.Getpid())
	if err := ipCmd("netns", "add", ns); err != nil {
		return r, fmt.Errorf("%w: %v", errNeedRoot, err)
	}
	defer ipCmd("netns", "del", ns)
	setup := [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", ipAdapter, "address", ipMAC, "type", "veth", "peer", "name", ipPeer},
		// No link-local address of its own: exactly the three below.
		{"link", "set", ipAdapter, "addrgenmode", "none"},
		{"link", "set", ipAdapter, "up"},
		{"link", "set", ipPeer, "up"},
	}
	for _, a := range ipAddrs {
		setup = append(setup, []string{"addr", "add", a, "dev", ipAdapter, "nodad"})
	}
	setup = append(setup, []string{"route", "add", "default", "via", "192.0.2.1", "dev", ipAdapter})
	for _, args := range setup {
		if err := ipCmd(append([]string{"-n", ns}, args...)...); err != nil {
			return r, err
		}
	}
	files := map[string]string{
		"rc.conf":     "ifconfig_" + ipAdapter + "=\"inet 192.0.2.10/24\"\ndefaultrouter=\"192.0.2.1\"\n",
		"resolv.conf": "search example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return r, err
		}
	}
	for _, d := range []string{"run", "pool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return r, err
		}
	}
	flags := []string{"--kvp.rc-conf", filepath.Join(dir, "rc.conf"), "--kvp.resolv-conf", filepath.Join(dir, "resolv.conf"),
		"--kvp.run-dir", filepath.Join(dir, "run")}
	if proto == kvp.Linux {
		// An empty root of its own: no network manager's files, so
		// the adapter is static, as rc.conf makes it for FreeBSD.
		root := filepath.Join(dir, "root")
		if err := os.MkdirAll(root, 0o700); err != nil {
			return r, err
		}
		flags = append(flags, "--kvp.net-root", root)
	}
	host, _, stop, err := startAgent(ctx, proto, bin, dir, log, []string{"ip", "netns", "exec", ns}, flags...)
	if err != nil {
		return r, err
	}
	defer stop()
	c := newClient(proto)
	req := c.request(kvp.Msg{Op: kvp.OpGetIPInfo, IP: kvp.IPInfo{AdapterID: strings.ToUpper(strings.ReplaceAll(ipMAC, ":", "-"))}})
	for range 20 {
		if _, err := c.transact(host, req, kvp.OpGetIPInfo, kvp.StatusOK); err != nil {
			return r, fmt.Errorf("GET_IP_INFO: %w", err)
		}
	}
	m, err := proto.DecodeReply(c.reply[:proto.MsgSize()], kvp.OpGetIPInfo)
	if err != nil {
		return r, err
	}
	r.info = m.IP
	if got := strings.Count(r.info.IPAddr, ";") + 1; r.info.IPAddr == "" || got != len(ipAddrs) {
		return r, fmt.Errorf("GET_IP_INFO reported %q, want %d addresses", r.info.IPAddr, len(ipAddrs))
	}
	for range n {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		d, err := c.transact(host, req, kvp.OpGetIPInfo, kvp.StatusOK)
		if err != nil {
			return r, fmt.Errorf("GET_IP_INFO: %w", err)
		}
		r.times = append(r.times, d)
	}
	return r, nil
}

// ipCmd runs ip(8) with args, an argument vector.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// printIPInfo writes the GET_IP_INFO figures.
func printIPInfo(w io.Writer, r ipResult) {
	p50, _ := percentile(r.times, 50)
	p90, _ := percentile(r.times, 90)
	fmt.Fprintf(w, "GET_IP_INFO end to end, %s protocol, agent in a network namespace, one veth adapter with %d addresses: p50 %s, p90 %s (%d requests)\n",
		r.proto, len(ipAddrs), us(p50), us(p90), len(r.times))
	fmt.Fprintf(w, "reply: ip_addr %q, sub_net %q, gate_way %q, dns_addr %q, dhcp %d\n",
		r.info.IPAddr, r.info.SubNet, r.info.Gateway, r.info.DNSAddr, r.info.DHCPEnabled)
}
