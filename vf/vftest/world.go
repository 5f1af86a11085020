package vftest

import (
	"context"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
)

// The simulated system the vf subsystem acts on is package fbsdnettest's,
// shared with package netinfo's tests: these names keep vftest's API.
type (
	// World is fbsdnettest.World.
	World = fbsdnettest.World
	// State is fbsdnettest.State.
	State = fbsdnettest.State
	// Iface is fbsdnettest.Iface.
	Iface = fbsdnettest.Iface
	// Call is fbsdnettest.Call.
	Call = fbsdnettest.Call
)

// StateEnv names the state file in the fakes' environment.
const StateEnv = fbsdnettest.StateEnv

// OverridePrefix names the per-interface override scripts
// (hyperv_vfup.hnN); a link to the fake under such a name only records
// that it ran.
const OverridePrefix = fbsdnettest.OverridePrefix

// FakeNames are the commands World simulates.
var FakeNames = fbsdnettest.FakeNames

// NewWorld is fbsdnettest.NewWorld.
func NewWorld(dir string) (*World, error) { return fbsdnettest.NewWorld(dir) }

// BuildFakes is fbsdnettest.BuildFakes.
func BuildFakes(ctx context.Context, dir string) (string, error) {
	return fbsdnettest.BuildFakes(ctx, dir)
}
