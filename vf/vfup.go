package vf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// hyperv_vfup's work, decided from the system's state off the loop.

// vfUp is hyperv_vfup for one hn, run off the loop.
func (mg *manager) vfUp(ctx context.Context, w work) []actionResult {
	override := filepath.Join(mg.overrideDir, "hyperv_vfup."+w.hn)
	if fi, err := os.Stat(override); err == nil && fi.Mode().IsRegular() {
		p := PlanOverride(w.hn, override)
		return []actionResult{{p, Execute(ctx, mg.run, p)}}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		mg.log.Warn("cannot check the override script", "path", override, "err", err)
	}
	p, err := mg.planVFUp(ctx, w.hn)
	switch {
	case errors.Is(err, errVFGone):
		mg.log.Info("VF detached before hyperv_vfup's work; nothing to do", "hn", w.hn)
		return nil
	case err != nil:
		return []actionResult{{Plan{Action: ActionCreate, HN: w.hn}, err}}
	case p.Action == "":
		mg.log.Debug("lagg already has the VF", "hn", w.hn)
		return nil
	}
	return []actionResult{{p, Execute(ctx, mg.run, p)}}
}

// planVFUp decides hyperv_vfup's work from the system's current state.
// An empty plan means there is nothing to do.
func (mg *manager) planVFUp(ctx context.Context, hn string) (Plan, error) {
	unit, _ := fbsdnet.Unit(hn)
	vf, err := mg.sc.Sysctl("dev.hn." + strconv.Itoa(unit) + ".vf")
	if err != nil && !errors.Is(err, ErrNoSysctl) {
		return Plan{}, err
	}
	if !ValidIfName(vf) {
		return Plan{}, errVFGone
	}
	lagg := laggOf(hn)
	out, err := run(ctx, mg.run, "ifconfig", lagg)
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		rc, err := ReadRCConf(ctx, mg.run, hn)
		if err != nil {
			return Plan{}, fmt.Errorf("vf: rc.conf of %s: %w", hn, err)
		}
		return PlanCreate(hn, vf, rc), nil
	case err != nil:
		return Plan{}, err
	case HasLaggPort(out, vf):
		return Plan{}, nil
	}
	return PlanAddPort(hn, vf), nil
}

// readVFDelay reads hyperv_vf_delay from rc.conf (minimum 2 s).
func readVFDelay(ctx context.Context, r Runner) time.Duration {
	v, _, err := sysrcLookup(ctx, r)("hyperv_vf_delay")
	n, perr := strconv.Atoi(v)
	if err != nil || perr != nil || n < 0 || n > 86400 {
		return minVFDelay
	}
	return max(minVFDelay, time.Duration(n)*time.Second)
}
