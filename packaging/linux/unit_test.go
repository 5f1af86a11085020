package linuxunit

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/msgio"
	"github.com/hvagent/hvagent/vss"
)

const (
	unitPath    = "hvagent.service"
	defaultPath = "hvagent.default"
	manPage     = "../../man/hvagent.8"
	readmePath  = "../../README.md"
)

// The units hyperv-daemons starts from the device nodes, which hvagent
// takes the devices over from. Debian and Ubuntu (Debian's linux source
// package, debian/hyperv-daemons.hv-kvp-daemon.service and
// hv-vss-daemon.service, started by 60-hyperv-daemons.rules with
// ENV{SYSTEMD_WANTS}); Fedora and RHEL (the hyperv-daemons package,
// hypervkvpd.service and hypervvssd.service).
var baseUnits = [][]string{
	{"hv-kvp-daemon.service", "hv-vss-daemon.service"},
	{"hypervkvpd.service", "hypervvssd.service"},
}

// The device nodes hv_utils creates (drivers/hv/hv_kvp.c, hv_kvp_init:
// hvutil_transport_init("vmbus/hv_kvp"); drivers/hv/hv_snapshot.c,
// hv_vss_init: "vmbus/hv_vss").
var deviceNodes = []string{"/dev/vmbus/hv_kvp", "/dev/vmbus/hv_vss"}

// stopBound is the longest a graceful stop of the agent can take: the
// thaw with its hooks inside the kernel's deadline for a THAW reply, the
// network changes under way, then the metrics server's shutdown
// (metrics/server.go, Serve: 5 s).
var stopBound = vss.LinuxUtilTimeout + agent.ShutdownGrace + 5*time.Second

// helperDeadline is when the freeze helper thaws by itself with the
// default --vss.max-frozen, whatever the agent does: vss.DefaultMaxFrozen
// plus the margin of vss/service.go, selfThawMargin (5 s).
var helperDeadline = vss.DefaultMaxFrozen + 5*time.Second

func readUnit(t *testing.T) (string, unitFile) {
	t.Helper()
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(string(b))
	if err != nil {
		t.Fatalf("%s: %v", unitPath, err)
	}
	return string(b), u
}

// TestUnitKeepsWhatTheWorkNeeds checks the unit as shipped against what
// the agent's work needs, then checks that each rule catches the unit
// broken in the way it guards against.
func TestUnitKeepsWhatTheWorkNeeds(t *testing.T) {
	text, u := readUnit(t)
	if p := problems(u); len(p) > 0 {
		t.Errorf("%s:\n  %s", unitPath, strings.Join(p, "\n  "))
	}

	// addService puts a line at the top of [Service], before the
	// shipped settings, so a list setting the unit also sets is merged
	// as systemd merges it.
	addService := func(line string) func(string) (string, bool) {
		return func(s string) (string, bool) {
			return strings.Replace(s, "[Service]\n", "[Service]\n"+line+"\n", 1), strings.Contains(s, "[Service]\n")
		}
	}
	replace := func(old, new string) func(string) (string, bool) {
		return func(s string) (string, bool) {
			return strings.Replace(s, old+"\n", new+"\n", 1), strings.Contains(s, old+"\n")
		}
	}
	for _, tc := range []struct {
		name string
		edit func(string) (string, bool)
		want string // in one of the problems
	}{
		{"no capabilities (Debian's KVP unit)", addService("CapabilityBoundingSet="), "CAP_SYS_ADMIN"},
		{"FIFREEZE dropped", addService("CapabilityBoundingSet=~CAP_SYS_ADMIN"), "CAP_SYS_ADMIN"},
		{"allow list without CAP_NET_ADMIN", addService("CapabilityBoundingSet=CAP_SYS_ADMIN CAP_SETUID CAP_SETGID"), "CAP_NET_ADMIN"},
		{"misspelt capability", addService("CapabilityBoundingSet=~CAP_SYS_MODUL"), "unknown capability"},
		{"ProtectSystem=full (Debian's KVP unit)", addService("ProtectSystem=full"), "/etc is read-only"},
		{"ProtectSystem=strict, /etc writable", addService("ProtectSystem=strict\nReadWritePaths=/etc"), "/var/lib/hyperv is read-only"},
		{"ProtectSystem=yes, /etc writable", addService("ProtectSystem=yes"), "ProtectSystem=yes"},
		{"PrivateTmp", addService("PrivateTmp=yes"), "PrivateTmp=yes"},
		{"InaccessiblePaths", addService("InaccessiblePaths=-/etc/netplan"), "/etc/netplan is inaccessible"},
		{"ProtectHostname", addService("ProtectHostname=yes"), "ProtectHostname=yes"},
		{"DeviceAllow= one node (Debian's KVP unit)", addService("DeviceAllow=/dev/vmbus/hv_kvp"), "/dev/vmbus/hv_vss"},
		{"DeviceAllow= read-only", addService("DeviceAllow=/dev/vmbus/hv_kvp r\nDeviceAllow=/dev/vmbus/hv_vss r"), "/dev/vmbus/hv_kvp"},
		{"ProtectClock (an implicit DeviceAllow=)", addService("ProtectClock=yes"), "/dev/vmbus/hv_kvp"},
		{"another user", addService("User=hvagent"), "User=hvagent"},
		{"Restart=always", replace("Restart=on-failure", "Restart=always"), "Restart="},
		{"default dependencies", replace("DefaultDependencies=no", ""), "DefaultDependencies"},
		{"not before sysinit.target", replace("Before=sysinit.target shutdown.target", "Before=shutdown.target"), "sysinit.target"},
		{"not after local-fs.target", replace("After=local-fs.target", ""), "local-fs.target"},
		{"KillMode=mixed", replace("KillMode=control-group", "KillMode=mixed"), "KillMode="},
		{"KillMode left to the default", replace("KillMode=control-group", ""), "KillMode="},
		{"stop timeout shorter than a thaw", replace("TimeoutStopSec=90s", "TimeoutStopSec=30s"), "TimeoutStopSec="},
		{"stop timeout within the helper's deadline", replace("TimeoutStopSec=90s", "TimeoutStopSec=65s"), "freeze helper"},
		{"Conflicts= on a base unit", replace("Conflicts=shutdown.target", "Conflicts=shutdown.target hypervkvpd.service"), "Conflicts="},
		{"logs to syslog", replace("ExecStart=/usr/sbin/hvagent run $HVAGENT_FLAGS", "ExecStart=/usr/sbin/hvagent run --log.syslog $HVAGENT_FLAGS"), "journal"},
		{"no flags from the default file", replace("ExecStart=/usr/sbin/hvagent run $HVAGENT_FLAGS", "ExecStart=/usr/sbin/hvagent run"), "$HVAGENT_FLAGS"},
		{"not enabled by multi-user.target", replace("WantedBy=multi-user.target", "WantedBy=default.target"), "multi-user.target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken, ok := tc.edit(text)
			if !ok {
				t.Fatalf("the edit does not apply to %s; has the unit changed?", unitPath)
			}
			bu, err := parseUnit(broken)
			if err != nil {
				t.Fatal(err)
			}
			p := problems(bu)
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("problems = %q, want one mentioning %q", p, tc.want)
			}
		})
	}
}

// problems lists every way u falls short of what the agent's work needs,
// each with the reason.
func problems(u unitFile) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	// The command: the agent, with the administrator's flags, logging to
	// stderr, which the journal keeps.
	execStart, _ := u.last("Service", "ExecStart")
	words := strings.Fields(execStart)
	if len(words) < 2 || words[0] != "/usr/sbin/hvagent" || words[1] != "run" {
		bad("ExecStart=%s: want /usr/sbin/hvagent run", execStart)
	}
	if !slices.Contains(words, "$HVAGENT_FLAGS") {
		bad("ExecStart=%s: want the word $HVAGENT_FLAGS (flags from /etc/default/hvagent, split at whitespace)", execStart)
	}
	if !slices.Contains(u.values("Service", "EnvironmentFile"), "-/etc/default/hvagent") {
		bad("EnvironmentFile=-/etc/default/hvagent missing: HVAGENT_FLAGS would have no source")
	}
	if typ, _ := u.last("Service", "Type"); typ != "simple" {
		bad("Type=%s: want simple (the agent does not speak sd_notify and does not fork)", typ)
	}
	if slices.Contains(words, "--log.syslog") {
		bad("ExecStart= has --log.syslog: the agent's stderr goes to the journal")
	}
	for _, key := range []string{"StandardOutput", "StandardError"} {
		if v, _ := u.last("Service", key); v != "journal" {
			bad("%s=%s: want journal", key, v)
		}
	}

	// Root, with what FIFREEZE, network configuration and the hooks need.
	for _, key := range []string{"User", "Group"} {
		if v, ok := u.last("Service", key); ok && v != "root" && v != "0" {
			bad("%s=%s: the agent runs as root (FIFREEZE, the devices, /etc)", key, v)
		}
	}
	if v, _ := u.last("Service", "DynamicUser"); isTrue(v) {
		bad("DynamicUser=%s: the agent runs as root", v)
	}
	caps, err := boundingSet(u.values("Service", "CapabilityBoundingSet"))
	if err != nil {
		bad("%v", err)
	} else {
		for c, why := range map[string]string{
			"CAP_SYS_ADMIN":  "FIFREEZE and FITHAW (fs/ioctl.c, ioctl_fsfreeze)",
			"CAP_NET_ADMIN":  "network configuration by SET_IP_INFO and the managers' commands",
			"CAP_SETUID":     "hooks that su to a database user",
			"CAP_SETGID":     "hooks that su to a database user",
			"CAP_SYS_PTRACE": "GET_IP_INFO's readlink of /proc/PID/exe of a DHCP client with more capabilities than the agent (security/commoncap.c, cap_ptrace_access_check)",
		} {
			if !caps[c] {
				bad("%s is not in the capability bounding set %v: %s needs it", c, sortedKeys(caps), why)
			}
		}
	}

	// Paths the work writes: pools, network configuration, and the
	// managers' run-time files their commands write.
	for _, dir := range []string{"/etc", "/etc/NetworkManager/system-connections", "/etc/systemd/network", "/etc/netplan", "/var/lib/hyperv", "/run"} {
		if a := u.accessAt(dir); a != writable {
			bad("%s is %s for the service: SET_IP_INFO or the pools need it writable", dir, a)
		}
	}
	// No namespaces: the VSS plan reads /proc/mounts as the agent sees
	// it, where a read-only bind mount shows as "ro" (fs/proc_namespace.c,
	// show_vfsmnt) and is then not frozen; hooks use sockets in /tmp and
	// /run; a UTS namespace would freeze the host name the agent reports;
	// a network namespace would hide the adapters.
	for _, key := range []string{
		"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts",
		"PrivateUsers", "PrivateNetwork", "PrivateIPC", "ProtectKernelTunables",
		"ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectHostname",
		"MountAPIVFS",
	} {
		if v, ok := u.last("Service", key); ok && !isFalse(v) {
			bad("%s=%s: sets up a namespace the agent must not live in", key, v)
		}
	}
	for _, key := range []string{
		"ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths",
		"TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "RootDirectory", "RootImage",
		"MountFlags", "NetworkNamespacePath", "IPCNamespacePath", "LogNamespace",
	} {
		if vs := u.list("Service", key); len(vs) > 0 {
			bad("%s=%s: sets up a namespace the agent must not live in", key, strings.Join(vs, " "))
		}
	}
	if v, ok := u.last("Service", "ProtectProc"); ok && v != "default" {
		bad("ProtectProc=%s: the agent reads /proc/PID of DHCP clients", v)
	}
	if v, ok := u.last("Service", "ProcSubset"); ok && v != "all" {
		bad("ProcSubset=%s: the agent reads /proc/PID of DHCP clients", v)
	}
	// A device policy must let the agent open both nodes for reading
	// and writing.
	if on, allow := u.devicePolicyApplies(); on {
		for _, node := range deviceNodes {
			if !slices.ContainsFunc(allow, func(a [2]string) bool {
				return (a[0] == node || a[0] == "char-misc") && strings.Contains(a[1], "r") && strings.Contains(a[1], "w")
			}) {
				bad("device access is restricted and %s is not allowed rw (DeviceAllow= %q)", node, allow)
			}
		}
	}

	if v, _ := u.last("Service", "Restart"); v != "on-failure" {
		bad("Restart=%s: want on-failure (a crash restarts, a stop does not)", v)
	}

	// Early, as Debian's hv-kvp-daemon.service: the host's KVP channel
	// waits until a daemon registers.
	if v, ok := u.last("Unit", "DefaultDependencies"); !ok || !isFalse(v) {
		bad("DefaultDependencies=%s: want no, or the unit is ordered after sysinit.target", v)
	}
	before, after, conflicts := u.list("Unit", "Before"), u.list("Unit", "After"), u.list("Unit", "Conflicts")
	for _, w := range []string{"sysinit.target", "shutdown.target"} {
		if !slices.Contains(before, w) {
			bad("Before= lacks %s (have %q)", w, before)
		}
	}
	if !slices.Contains(after, "local-fs.target") {
		bad("After= lacks local-fs.target: the pools need /var/lib/hyperv mounted, and a stop must thaw before local filesystems are unmounted")
	}
	if !slices.Contains(conflicts, "shutdown.target") {
		bad("Conflicts= lacks shutdown.target: with DefaultDependencies=no nothing else stops the agent at shutdown")
	}
	for _, units := range baseUnits {
		for _, b := range units {
			if slices.Contains(conflicts, b) {
				bad("Conflicts=%s: udev starting that unit would stop hvagent (see the unit's header)", b)
			}
		}
	}
	if !slices.Contains(u.list("Install", "WantedBy"), "multi-user.target") {
		bad("WantedBy= lacks multi-user.target")
	}

	// A stop ends in THAW: SIGTERM to the agent, the helper left to thaw,
	// and time enough for the longest graceful stop.
	if v, _ := u.last("Service", "KillMode"); v != "control-group" {
		bad("KillMode=%s: want control-group, named; mixed would SIGKILL the freeze helper when the agent exits", v)
	}
	if v, ok := u.last("Service", "KillSignal"); ok && v != "SIGTERM" && v != "TERM" && v != "15" {
		bad("KillSignal=%s: the agent thaws on SIGTERM", v)
	}
	if v, ok := u.last("Service", "TimeoutStopSec"); !ok {
		bad("TimeoutStopSec= unset: a shorter DefaultTimeoutStopSec= could SIGKILL a thaw")
	} else if d, err := timeSpan(v); err != nil {
		bad("TimeoutStopSec=%s: %v", v, err)
	} else if d < stopBound {
		bad("TimeoutStopSec=%s is shorter than the agent's longest graceful stop, %v", v, stopBound)
	} else if d <= helperDeadline {
		bad("TimeoutStopSec=%s: systemd's SIGKILL could come before the freeze helper's own thaw, %v after a freeze", v, helperDeadline)
	}
	return p
}

// TestTimeSpan checks the systemd time spans the stop check reads.
func TestTimeSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "90": 90 * time.Second, "1min 30s": 90 * time.Second,
		"2m": 2 * time.Minute, "1h": time.Hour, "500ms": 500 * time.Millisecond,
	} {
		if got, err := timeSpan(in); err != nil || got != want {
			t.Errorf("timeSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "90 parsecs", "1.5s"} {
		if got, err := timeSpan(in); err == nil {
			t.Errorf("timeSpan(%q) = %v, want an error", in, got)
		}
	}
}

// TestTakeoverDocumented checks that the commands which take the devices
// over from hyperv-daemons, and give them back, are the same everywhere
// an administrator meets them: the unit's header, hvagent(8)'s LINUX
// section, the README and the agent's log line for a busy device.
func TestTakeoverDocumented(t *testing.T) {
	unit, _ := readUnit(t)
	man, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	linux := manSection(t, string(man), "LINUX")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	busy := msgio.LinuxBusyRemedy("KVP")
	for _, units := range baseUnits {
		names := strings.Join(units, " ")
		mask := "systemctl mask --now " + names
		for _, where := range []struct{ name, text string }{
			{unitPath, unit}, {"hvagent(8), LINUX", linux}, {"msgio.LinuxBusyRemedy", busy}, {"README.md", string(readme)},
		} {
			if !strings.Contains(where.text, mask) {
				t.Errorf("%s does not name %q", where.name, mask)
			}
		}
		for _, back := range []string{"systemctl unmask " + names, "systemctl start " + names} {
			if !strings.Contains(linux, back) {
				t.Errorf("hvagent(8), LINUX does not give the way back, %q", back)
			}
		}
	}
	// The section states the stop timeout the unit sets.
	_, u := readUnit(t)
	if v, _ := u.last("Service", "TimeoutStopSec"); !strings.Contains(linux, "TimeoutStopSec="+v) {
		t.Errorf("hvagent(8), LINUX does not state the unit's TimeoutStopSec=%s", v)
	}
}

// manSection returns the text of section .Sh name of an mdoc page.
func manSection(t *testing.T, page, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, "\n.Sh "+name+"\n")
	if !ok {
		t.Fatalf("%s has no section %s", manPage, name)
	}
	if end := strings.Index(rest, "\n.Sh "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}
