package vf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// Actions, as the action label of hvagent_vf_lagg_actions_total.
const (
	ActionVFUp     = "vf_up"    // hyperv_vfattach: ifconfig VF up
	ActionCreate   = "create"   // hyperv_vfup: laggN created and configured
	ActionAddPort  = "add_port" // hyperv_vfup: VF re-added to an existing laggN
	ActionOverride = "override" // hyperv_vfup.hnN run instead
)

// failMode says what a failed step means.
type failMode int

const (
	failContinue failMode = iota // note the failure, go on (the script's unchecked commands)
	failAbort                    // stop here (the script's "exit 1")
	failIgnore                   // expected to fail sometimes
	// deleteInet is network.subr's ipv4_down: Argv lists the interface
	// ("ifconfig hnN"), and each IPv4 address listed is then deleted
	// with "ifconfig hnN inet A delete". hyperv_vfup ignores its result.
	deleteInet
)

// maxInet bounds the addresses deleteInet deletes.
const maxInet = 256

// Step is one command of a plan.
type Step struct {
	Argv []string
	mode failMode
}

// Plan is what one action runs, as argument vectors.
type Plan struct {
	Action string
	HN     string
	Steps  []Step
}

// Argv lists the plan's commands.
func (p Plan) Argv() [][]string {
	out := make([][]string, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = s.Argv
	}
	return out
}

func step(mode failMode, argv ...string) Step { return Step{Argv: argv, mode: mode} }

// laggOf names hnN's lagg: laggN.
func laggOf(hn string) string {
	lagg, _ := fbsdnet.Lagg(hn)
	return lagg
}

// PlanVFUp is hyperv_vfattach's work once its delay is over.
func PlanVFUp(hn, vf string) Plan {
	return Plan{Action: ActionVFUp, HN: hn, Steps: []Step{step(failAbort, "ifconfig", vf, "up")}}
}

// PlanCreate is hyperv_vfup's work when laggN does not exist: create it
// as a failover lagg of hnN and the VF, stop dhclient on hnN, remove
// hnN's IPv4 addresses, and give laggN hnN's rc.conf configuration.
func PlanCreate(hn, vf string, rc RCConf) Plan {
	lagg := laggOf(hn)
	p := Plan{Action: ActionCreate, HN: hn, Steps: []Step{
		step(failAbort, "ifconfig", lagg, "create"),
		step(failContinue, "ifconfig", lagg, "laggproto", "failover", "laggport", hn, "laggport", vf),
		step(failContinue, "ifconfig", lagg, "inet6", "no_dad"),
		// hyperv_vfup TERMs the pid in dhclient's pidfile; rc.d/dhclient
		// does the same, wherever this release keeps the pidfile. A plain
		// stop exits 1 "not a DHCP-enabled interface" unless ifconfig_hnN
		// asks for DHCP (libexec/rc/rc.d/dhclient, dhclient_pre_check);
		// forcestop skips that check, as hyperv_vfup does.
		step(failIgnore, "service", "dhclient", "forcestop", hn),
		// ipv4_down lists the addresses rather than repeating a bare
		// "-alias": hyperv_vfup notes that one may succeed with none left.
		step(deleteInet, "ifconfig", hn),
	}}
	switch {
	case rc.DHCP():
		p.Steps = append(p.Steps, step(failContinue, "ifconfig", lagg, "up"))
		if rc.Sync() {
			p.Steps = append(p.Steps, step(failContinue, "dhclient", lagg))
		} else {
			p.Steps = append(p.Steps, step(failContinue, "dhclient", "-b", lagg))
		}
	case len(rc.Args()) > 0:
		p.Steps = append(p.Steps, step(failContinue, append([]string{"ifconfig", lagg}, rc.Args()...)...))
	}
	return p
}

// PlanAddPort is hyperv_vfup's work when laggN exists without the VF.
func PlanAddPort(hn, vf string) Plan {
	return Plan{Action: ActionAddPort, HN: hn, Steps: []Step{step(failAbort, "ifconfig", laggOf(hn), "laggport", vf)}}
}

// PlanOverride runs the administrator's hyperv_vfup.hnN instead.
func PlanOverride(hn, path string) Plan {
	return Plan{Action: ActionOverride, HN: hn, Steps: []Step{step(failAbort, path)}}
}

// HasLaggPort reports whether "ifconfig laggN" output lists port vf.
func HasLaggPort(ifconfigOut, vf string) bool {
	for line := range strings.Lines(ifconfigOut) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "laggport:" && f[1] == vf {
			return true
		}
	}
	return false
}

// InetAddrs returns the IPv4 addresses in ifconfig output, as ipv4_down
// reads them: the word after "inet", without a prefix length. Anything
// that does not parse as an IPv4 address is skipped.
func InetAddrs(ifconfigOut string) []string {
	var out []string
	for line := range strings.Lines(ifconfigOut) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "inet" {
			continue
		}
		a, _, _ := strings.Cut(f[1], "/")
		if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() && len(out) < maxInet {
			out = append(out, ip.String())
		}
	}
	return out
}

// Execute runs p's steps in order. The error aggregates every failure
// that counts (failIgnore does not).
func Execute(ctx context.Context, r Runner, p Plan) error {
	var errs *multierror.Error
	for _, s := range p.Steps {
		switch s.mode {
		case deleteInet:
			out, err := run(ctx, r, s.Argv...)
			if err != nil {
				errs = multierror.Append(errs, err)
				continue
			}
			for _, a := range InetAddrs(out) {
				if _, err := run(ctx, r, append(slices.Clone(s.Argv), "inet", a, "delete")...); err != nil {
					errs = multierror.Append(errs, err)
				}
			}
			continue
		case failIgnore:
			_, _ = run(ctx, r, s.Argv...)
			continue
		}
		if _, err := run(ctx, r, s.Argv...); err != nil {
			errs = multierror.Append(errs, err)
			if s.mode == failAbort {
				break
			}
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("vf: %s for %s: %w", p.Action, p.HN, err)
	}
	return nil
}

// errVFGone: hyperv_vfup's race check found dev.hn.N.vf empty.
var errVFGone = errors.New("vf: the VF left before hyperv_vfup's work could start")
