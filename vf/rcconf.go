package vf

import (
	"context"
	"errors"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// RCConf is what hyperv_vfup takes from rc.conf for hnN; its rules
// (dhcpif, syncdhcpif, ifconfig_getargs) are package fbsdnet's.
type RCConf = fbsdnet.IfConfig

// sysrcLookup reads rc.conf variables with "sysrc -n" (sysrc(8)), the
// values hyperv_vfup gets from load_rc_config
// (contrib/hyperv/tools/scripts/hyperv_vfup): an unset variable (sysrc exits non-zero, "unknown variable")
// reads as unset.
func sysrcLookup(ctx context.Context, r Runner) fbsdnet.Lookup {
	return func(name string) (string, bool, error) {
		out, err := run(ctx, r, "sysrc", "-n", name)
		var ee *ExitError
		if errors.As(err, &ee) {
			return "", false, nil
		}
		return strings.TrimSpace(out), err == nil, err
	}
}

// ReadRCConf reads hn's configuration through sysrc.
func ReadRCConf(ctx context.Context, r Runner, hn string) (RCConf, error) {
	return fbsdnet.Read(sysrcLookup(ctx, r), hn)
}
