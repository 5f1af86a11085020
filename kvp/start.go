package kvp

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hvagent/hvagent/agent"
)

// service returns the Service requests are answered from, building it on
// the first call that finds the device: the pools are opened and the facts
// gathered (DNS, up to fqdnTimeout) only when there is a kernel to serve,
// and a failure costs this subsystem, not the daemon.
func (s *Subsystem) service(ctx context.Context, env *agent.Env) (*Service, error) {
	if svc := s.svc.Load(); svc != nil {
		return svc, nil
	}
	if _, err := os.Stat(s.cfg.Device); err != nil && s.cfg.Protocol != Linux {
		// No device (no KVP service, module not loaded), or one we may not
		// open: final. A Linux node may come and go; connect waits for it.
		return nil, agent.FinalIfUnavailable(fmt.Errorf("kvp: device %s: %w", s.cfg.Device, err))
	}
	store, err := OpenStore(s.cfg.PoolDir)
	switch {
	case errors.Is(err, ErrLockTimeout):
		return nil, err // another writer holds a pool: worth a retry
	case err != nil:
		// An unusable directory or a damaged pool: no restart cures it.
		return nil, agent.Final(err)
	}
	facts := s.gatherFacts(ctx)
	svc := NewService(ServiceConfig{
		Store:      store,
		Facts:      facts,
		Addrs:      s.cfg.Addrs,
		IP:         s.cfg.IP,
		Log:        env.Log,
		Metrics:    s.cfg.Metrics,
		MaxRecords: s.cfg.MaxRecords,
		Protocol:   s.cfg.Protocol,
	})
	s.store.Store(store)
	s.cfg.Metrics.setStore(store)
	s.svc.Store(svc)
	env.Log.Info("kvp pools opened", "dir", s.cfg.PoolDir, "fqdn", facts.FQDN)
	return svc, nil
}

// Store returns the pool store once Run has opened it, or nil.
func (s *Subsystem) Store() *Store { return s.store.Load() }

// Close closes the pool store if Run opened one. Call it after Run returned.
func (s *Subsystem) Close() error {
	if st := s.store.Swap(nil); st != nil {
		s.cfg.Metrics.setStore(nil)
		return st.Close()
	}
	return nil
}
