//go:build linux

package kvp

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/agent"
)

// The subsystem opens its pools only once its device exists, and sorts
// start-up failures into final (configuration) and transient (a lock).
func TestSubsystemStartFailures(t *testing.T) {
	env := &agent.Env{Log: slog.New(slog.DiscardHandler)}
	dir := t.TempDir()
	device := filepath.Join(dir, "hv_kvp_dev")
	if err := os.WriteFile(device, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	sub := func(dev, pools string) *Subsystem {
		return New(Config{Device: dev, PoolDir: pools, Metrics: m, LookupFQDN: func(context.Context) string { return "h" }})
	}
	ctx := context.Background()

	pools := filepath.Join(dir, "pool")
	if _, err := sub(filepath.Join(dir, "none"), pools).service(ctx, env); !agent.IsFinal(err) {
		t.Errorf("no device: %v, want a final error", err)
	}
	if _, err := os.Stat(pools); !os.IsNotExist(err) {
		t.Errorf("pool directory touched without a device: %v", err)
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sub(device, file).service(ctx, env); !errors.Is(err, agent.ErrDisabled) {
		t.Errorf("pool dir is a file: %v, want agent.ErrDisabled", err)
	}

	s := sub(device, pools)
	svc, err := s.service(ctx, env)
	if err != nil || svc == nil || s.Store() == nil {
		t.Fatalf("good pool dir: %v", err)
	}
	if again, _ := s.service(ctx, env); again != svc {
		t.Error("second start built the service again")
	}
	if n := testutil.CollectAndCount(m.pools); n != NumPools {
		t.Errorf("hvagent_kvp_pool_records has %d series with the pools open, want %d", n, NumPools)
	}
	if err := s.Close(); err != nil || s.Store() != nil {
		t.Errorf("Close: %v", err)
	}
	if n := testutil.CollectAndCount(m.pools); n != 0 {
		t.Errorf("hvagent_kvp_pool_records has %d series after Close, want none", n)
	}

	// Another process holding a pool file's lock past lockTimeout is
	// transient: the supervisor retries.
	fd, err := unix.Open(filepath.Join(pools, ".kvp_pool_0"), unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = sub(device, pools).service(ctx, env)
	if !errors.Is(err, ErrLockTimeout) || agent.IsFinal(err) {
		t.Errorf("pool locked: %v, want a transient ErrLockTimeout", err)
	}
}
