package netinfo

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/go-multierror"
)

// liveApply is an accepted SET_IP_INFO whose live steps have not
// started yet.
type liveApply struct {
	iface string // Setting.Interface: requests for it replace each other
	attrs []any  // the request's audit attributes
	apply func(context.Context) error
}

// background queues live, the part of a SET_IP_INFO that may take long
// (a DHCP client waiting for a lease, an administrator's hook), to run
// after the reply with its own timeout. One worker applies the queue
// one request at a time, oldest first: default routes and the DHCP
// client are shared by all interfaces, so two applies never interleave.
// Each interface has at most one request waiting: a newer one for it
// replaces the older (which is logged and counted as superseded) and
// goes to the back, so a storm of requests costs bounded memory and
// the interface ends in the configuration the host asked for last. The
// apply already running is never replaced; the newest runs after it.
func (s *Service) background(iface string, attrs []any, live func(context.Context) error) {
	s.mu.Lock()
	var superseded []any // the replaced request's attributes
	if i := slices.IndexFunc(s.pending, func(p liveApply) bool { return p.iface == iface }); i >= 0 {
		superseded = s.pending[i].attrs
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	s.pending = append(s.pending, liveApply{iface: iface, attrs: attrs, apply: live})
	start := s.idle == nil
	if start {
		s.idle = make(chan struct{})
	}
	s.mu.Unlock()
	if superseded != nil {
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Superseded.Inc()
		}
		s.log.Info("set_ip_info superseded before it was applied live; a newer request for the interface replaces it", superseded...)
	}
	if start {
		go s.applyQueued()
	}
}

// applyQueued is the worker: it applies the queue until it is empty,
// then exits, so an idle Service holds no goroutine.
func (s *Service) applyQueued() {
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			close(s.idle)
			s.idle = nil
			s.mu.Unlock()
			return
		}
		next := s.pending[0]
		s.pending = slices.Delete(s.pending, 0, 1)
		s.mu.Unlock()
		s.applyOne(next)
	}
}

// applyOne runs one request's live steps; the outcome is logged with
// its attributes and a failure counted.
func (s *Service) applyOne(a liveApply) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LiveTimeout)
	defer cancel()
	if err := a.apply(ctx); err != nil {
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.ApplyFailures.Inc()
		}
		s.log.Error("set_ip_info failed after the reply", append(a.attrs, "err", err)...)
		return
	}
	s.log.Info("set_ip_info applied", a.attrs...)
}

// Wait blocks until every accepted SET_IP_INFO has been applied live,
// has failed to, or was superseded: until the worker has nothing left,
// including requests accepted while Wait waits.
func (s *Service) Wait() {
	for {
		s.mu.Lock()
		idle := s.idle
		s.mu.Unlock()
		if idle == nil {
			return
		}
		<-idle
	}
}

// applyLive applies set to the running system: the interfaces, routes
// and DHCP client are read again, as an earlier request may have
// changed them, and every step is tried even when one fails. A DHCP
// request for an interface that was already DHCP in rc.conf and has its
// dhclient running changes nothing live: restarting the client would
// only drop the lease for a moment.
func (s *Service) applyLive(ctx context.Context, set Setting, wasDHCP bool) error {
	links, err := s.cfg.Links()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	hn, ok := linkByName(links, set.Interface)
	if !ok {
		return fmt.Errorf("interface %s is gone", set.Interface)
	}
	cur, err := s.current(targetOf(links, hn), hn.Name)
	if err != nil {
		return err
	}
	if set.DHCP && wasDHCP && cur.dhclient {
		s.log.Info("set_ip_info: already DHCP with a running dhclient; nothing to change live", "target", cur.target.Name)
		return nil
	}
	var errs *multierror.Error
	for _, argv := range liveCommands(set, cur) {
		err := s.run(ctx, argv)
		if err != nil && isRouteDelete(argv) {
			// No default route to delete is not a failure; a
			// stale one makes the add below fail and be reported.
			s.log.Debug("set_ip_info: no default route to delete", "err", err)
			continue
		}
		if err != nil {
			s.log.Warn("set_ip_info: live step failed; rc.conf is already changed", "err", err)
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func isRouteDelete(argv []string) bool {
	return len(argv) > 2 && argv[0] == "route" && argv[2] == "delete"
}
