package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/hvagent/hvagent/vss"
)

// vmGuestHyperV is kern.vm_guest on Hyper-V: sys/kern/subr_param.c,
// vm_guest_sysctl_names[VM_GUEST_HV] ("none", "generic", "xen", "hv",
// "vmware", "kvm", "bhyve", ...).
const vmGuestHyperV = "hv"

// linuxVMBusDir exists on a Linux guest whose kernel found VMBus
// (drivers/hv/vmbus_drv.c registers the "vmbus" bus type).
const linuxVMBusDir = "/sys/bus/vmbus"

func linuxVMBus(env Env, cfg Config) bool {
	if cfg.OS != "linux" {
		return false
	}
	fi, err := env.Stat(linuxVMBusDir)
	return err == nil && fi.IsDir()
}

func checkHypervisor(r *Report, env Env, cfg Config) {
	f := Finding{ID: "hyperv"}
	v, err := env.Sysctl.Sysctl("kern.vm_guest")
	v = strings.TrimSpace(v)
	switch {
	case err != nil && linuxVMBus(env, cfg):
		f.Status, f.Seen = OK, linuxVMBusDir+" exists: a Hyper-V or Azure guest"
	case err != nil:
		f.Status, f.Seen = Warn, fmt.Sprintf("cannot read kern.vm_guest: %v", err)
		f.Remedy = "check by hand that this is a Hyper-V or Azure guest (sysctl kern.vm_guest says hv)"
	case v == vmGuestHyperV:
		f.Status, f.Seen = OK, "kern.vm_guest=hv: a Hyper-V or Azure guest"
	default:
		f.Status, f.Seen = Fail, fmt.Sprintf("kern.vm_guest=%s: not a Hyper-V guest, so there is nothing for hvagent to serve", v)
		f.Remedy = "run hvagent only on Hyper-V or Azure guests: sysrc hvagent_enable=NO"
	}
	r.add(f)
}

// device is one of the two device nodes and the daemons that may hold it.
type device struct {
	sub     string // kvp, vss
	path    string
	service string   // the integration service that makes the node appear
	daemons []string // other daemons that serve it: base FreeBSD, Debian, Fedora
	unit    string   // their systemd units (Debian, then Fedora)
}

// The base daemons' names: contrib/hyperv/tools/hv_kvp_daemon.c and
// hv_vss_daemon.c on FreeBSD; tools/hv/hv_kvp_daemon.c and
// hv_vss_daemon.c in Linux, installed as hypervkvpd and hypervvssd by
// Fedora and RHEL.
func kvpDevice(path string) device {
	return device{sub: "kvp", path: path, service: "Key-Value Pair Exchange",
		daemons: []string{"hv_kvp_daemon", "hypervkvpd"}, unit: "hv-kvp-daemon.service (hypervkvpd.service on Fedora and RHEL)"}
}

// vssDevice is the VSS node; for the default path, the alias name (no
// FreeBSD release creates it; an administrator's symlink may) counts too,
// as for the agent.
func vssDevice(path string, env Env) device {
	if path == vss.DefaultDevice {
		if _, err := env.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if _, err := env.Stat(vss.AliasDevice); err == nil {
				path = vss.AliasDevice
			}
		}
	}
	return device{sub: "vss", path: path, service: "Backup (volume shadow copy)",
		daemons: []string{"hv_vss_daemon", "hypervvssd"}, unit: "hv-vss-daemon.service (hypervvssd.service on Fedora and RHEL)"}
}

// checkDevice reports the node and, for a character device, its holders.
func checkDevice(ctx context.Context, r *Report, env Env, cfg Config, d device) {
	f := Finding{ID: d.sub + ".device", Subject: d.path}
	fi, err := env.Stat(d.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Status, f.Seen = Warn, "no such device: the host does not offer the "+d.service+" integration service, or the kernel lacks the Hyper-V utilities"
		f.Remedy = "enable " + d.service + " in the VM's integration services on the host; the agent serves the device once it appears"
	case err != nil:
		f.Status, f.Seen = Warn, fmt.Sprintf("cannot stat: %v", err)
		f.Remedy = "run hvagent doctor as root"
	case fi.Mode().Type() == fs.ModeSocket:
		f.Status, f.Seen = Info, "a Unix socket: the socket transport to a simulated kernel; holders are not listed"
	case fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice:
		f.Status, f.Seen = Fail, fmt.Sprintf("not a character device (%s)", fi.Mode().Type())
		f.Remedy = fmt.Sprintf("pass the device node with --%s.device", d.sub)
	default:
		f.Status, f.Seen = OK, "present"
	}
	r.add(f)
	if f.Status == OK {
		checkHolders(ctx, r, env, cfg, d)
	}
}

// checkHolders says who has the device open. It lists open files and
// never opens the device: an open would register the doctor as the daemon.
func checkHolders(ctx context.Context, r *Report, env Env, cfg Config, d device) {
	id := d.sub + ".holder"
	procs, err := env.Holders(ctx, d.path)
	if err != nil {
		r.add(Finding{ID: id, Subject: d.path, Status: Warn, Seen: fmt.Sprintf("cannot list who holds it: %v", err),
			Remedy: "run hvagent doctor as root; on FreeBSD it runs fstat(1)"})
		return
	}
	if len(procs) == 0 {
		f := Finding{ID: id, Subject: d.path, Status: Warn}
		if env.CanSeeAll {
			f.Seen = "nobody holds it: no daemon serves the host's " + strings.ToUpper(d.sub) + " requests"
			f.Remedy = startRemedy(cfg.OS)
		} else {
			f.Seen = "no holder visible, but only root sees other users' open files"
			f.Remedy = "run hvagent doctor as root"
		}
		r.add(f)
		return
	}
	for _, p := range procs {
		f := Finding{ID: id, Subject: d.path, Seen: fmt.Sprintf("held by %s (pid %d)", p.Command, p.PID)}
		switch {
		case p.Command == "hvagent":
			f.Status = OK
		case slices.Contains(d.daemons, p.Command):
			f.Status = Fail
			f.Seen += ", the base system's daemon: hvagent cannot serve " + strings.ToUpper(d.sub) + " while it runs"
			f.Remedy = baseDaemonRemedy(cfg.OS, p.Command, d.unit)
		default:
			f.Status = Fail
			f.Seen += ", which is neither hvagent nor a known " + strings.ToUpper(d.sub) + " daemon"
			f.Remedy = fmt.Sprintf("find out what %s is and stop it; only one process can hold the device", p.Command)
		}
		r.add(f)
	}
}

func startRemedy(goos string) string {
	if goos == "linux" {
		return "start hvagent: systemctl enable --now hvagent.service"
	}
	return "start hvagent: sysrc hvagent_enable=YES && service hvagent start"
}

func baseDaemonRemedy(goos, name, unit string) string {
	if goos == "linux" {
		return "systemctl mask --now " + unit + ", then systemctl restart hvagent.service"
	}
	return "'service hvagent restart' stops " + name + " and takes the device over; the package's devd rules keep devd " +
		"from starting it again (run 'service devd restart' once after installing); see hvagent(8), BASE SYSTEM DAEMONS"
}
