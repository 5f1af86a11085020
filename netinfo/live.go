package netinfo

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-multierror"
)

// background runs live, the part of a SET_IP_INFO that may take long
// (a DHCP client waiting for a lease, an administrator's hook), after
// the reply, with its own timeout. Requests are applied one at a time
// in the order they came. The outcome is logged with attrs and a
// failure counted.
func (s *Service) background(attrs []any, live func(context.Context) error) {
	s.mu.Lock()
	prev := s.last
	done := make(chan struct{})
	s.last = done
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LiveTimeout)
		defer cancel()
		if err := live(ctx); err != nil {
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.ApplyFailures.Inc()
			}
			s.log.Error("set_ip_info failed after the reply",
				append(attrs, "err", err)...)
			return
		}
		s.log.Info("set_ip_info applied", attrs...)
	}()
}

// Wait blocks until every accepted SET_IP_INFO has been applied live or
// has failed to.
func (s *Service) Wait() { s.wg.Wait() }

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
