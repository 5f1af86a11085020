package agent_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/hvagent/hvagent/agent"
)

// Only errors marked final are final; errors.Is and errors.As see through
// the mark.
func TestIsFinal(t *testing.T) {
	notExist := fmt.Errorf("vss: run hook /etc/hooks/freeze: %w", fs.ErrNotExist)
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("peer went away"), false},
		{"deep ErrNotExist", notExist, false},
		{"deep EPERM", fmt.Errorf("vf: sysctl dev.hn.0.vf: %w", syscall.EPERM), false},
		{"deep EACCES", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, false},
		{"deep ErrUnsupported", fmt.Errorf("vss: freezer: %w", errors.ErrUnsupported), false},
		{"Final", agent.Final(errors.New("no such device")), true},
		{"Final wrapped with %w", fmt.Errorf("kvp: %w", agent.Final(notExist)), true},
		{"Final wrapped with %v", fmt.Errorf("kvp: %v", agent.Final(notExist)), false},
		{"Final twice", agent.Final(agent.Final(notExist)), true},
		{"ErrDisabled wrapped", fmt.Errorf("pool dir: %w", agent.ErrDisabled), true},
		{"ErrDisabled joined", errors.Join(errors.New("a"), agent.ErrDisabled), true},
		{"unavailable: ENOENT", agent.FinalIfUnavailable(&fs.PathError{Op: "open", Path: "/dev/x", Err: syscall.ENOENT}), true},
		{"unavailable: EPERM", agent.FinalIfUnavailable(fmt.Errorf("open: %w", syscall.EPERM)), true},
		{"unavailable: EACCES", agent.FinalIfUnavailable(fmt.Errorf("open: %w", syscall.EACCES)), true},
		{"unavailable: ErrUnsupported", agent.FinalIfUnavailable(fmt.Errorf("device: %w", errors.ErrUnsupported)), true},
		{"unavailable: EBUSY", agent.FinalIfUnavailable(fmt.Errorf("open: %w", syscall.EBUSY)), false},
		{"unavailable: ECONNREFUSED", agent.FinalIfUnavailable(fmt.Errorf("dial: %w", syscall.ECONNREFUSED)), false},
		{"unavailable: nil", agent.FinalIfUnavailable(nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := agent.IsFinal(tc.err); got != tc.want {
				t.Errorf("IsFinal(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestFinalKeepsTheError(t *testing.T) {
	if agent.Final(nil) != nil {
		t.Error("Final(nil) is not nil")
	}
	inner := &fs.PathError{Op: "open", Path: "/dev/hv_kvp_dev", Err: syscall.ENOENT}
	err := agent.Final(inner)
	if err.Error() != inner.Error() {
		t.Errorf("Final changed the message: %q, want %q", err, inner)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe != inner {
		t.Error("errors.As does not find the wrapped *fs.PathError")
	}
	if !errors.Is(err, fs.ErrNotExist) || !os.IsNotExist(errors.Unwrap(err)) {
		t.Error("errors.Is does not see ENOENT through Final")
	}
	if !errors.Is(err, agent.ErrDisabled) {
		t.Error("a final error does not match ErrDisabled")
	}
}
