package vf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/hvagent/hvagent/agent"
)

// DefaultKmsg is the kernel log device (Documentation/ABI/testing/dev-kmsg).
const DefaultKmsg = "/dev/kmsg"

// linkSource is rtnetlink as the Linux observer uses it
// (linux_linux.go).
type linkSource interface {
	// dump lists every link.
	dump() ([]LinkUpdate, error)
	// receive waits for link events; errOverrun when some were lost.
	receive() ([]LinkUpdate, error)
	Close() error
}

// errOverrun: link events were lost, a dump must resynchronise.
var errOverrun = errors.New("rtnetlink: receive queue overrun, events lost")

// runLinux follows hv_netvsc through rtnetlink until ctx ends: a dump
// at start, then the kernel's link events; nothing runs between events.
// The kernel log, when readable, adds its confirmations and failures.
func (s *Subsystem) runLinux(ctx context.Context, env *agent.Env) error {
	s.once.Do(func() { s.setUp(env) })
	src, err := s.openLinks(ctx)
	if err != nil {
		return agent.FinalIfUnavailable(fmt.Errorf("vf: rtnetlink: %w", err))
	}
	defer func() { // the current source, at return
		if src != nil {
			src.Close()
		}
	}()

	topo := newLinuxTopo(func(name string, index uint32) bool {
		if s.sysRead != nil {
			s.sysRead()
		}
		return isNetvsc(s.cfg.SysRoot, name, index)
	}, env.Log)
	dump, err := s.dump(src)
	if err != nil {
		return fmt.Errorf("vf: rtnetlink link dump: %w", err)
	}
	first := topo.load(dump, s.cfg.Now())
	if !env.Loop.Post(func() { s.applyLinux(env.Log, first) }) {
		return ctx.Err()
	}
	// No synthetic interface is not final: the unit starts early
	// (SPEC §9, Packaging), possibly before udev has loaded hv_netvsc,
	// and SIGHUP would not bring the subsystem back. An interface that
	// appears later is learnt from its link event like any other.
	if len(topo.synth) == 0 && !s.noNetvscLogged {
		s.noNetvscLogged = true
		env.Log.Info("no "+NetvscDriver+" interface yet; following link events",
			"driver_links", s.cfg.SysRoot+"/class/net/*/device/driver")
	}
	env.Log.Info("following rtnetlink link events", "synthetic", topo.synthNames())
	env.Ready()

	var wg sync.WaitGroup
	defer wg.Wait()
	if k := s.openKmsg(env.Log); k != nil {
		stopK := context.AfterFunc(ctx, func() { k.Close() })
		defer stopK()
		defer k.Close() // before wg.Wait, on any return
		// Before any line: the loop runs what is posted in order.
		env.Loop.Post(func() { s.cfg.Metrics.setKernelLog(true, s.tracker.HNs()) })
		wg.Go(func() { s.followKmsg(k, env) })
	}

	for {
		var obs []Observation
		ups, err := src.receive()
		if s.received != nil {
			s.received()
		}
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, errOverrun):
			// The socket still holds messages older than a dump would
			// be, which would then be applied over it: start afresh, a
			// new subscription and then a dump, as at start.
			env.Log.Warn("rtnetlink events lost; subscribing again and reading the links again", "err", err)
			src.Close()
			if src, err = s.openLinks(ctx); err != nil {
				return fmt.Errorf("vf: rtnetlink: subscribe again: %w", err)
			}
			if dump, err = s.dump(src); err != nil {
				return fmt.Errorf("vf: rtnetlink link dump: %w", err)
			}
			obs = topo.load(dump, s.cfg.Now())
		case err != nil:
			return fmt.Errorf("vf: rtnetlink receive: %w", err)
		default:
			obs = topo.apply(ups, s.cfg.Now())
		}
		if len(obs) > 0 {
			env.Loop.Post(func() { s.observeLinux(obs) })
		}
	}
}

func (s *Subsystem) dump(src linkSource) ([]LinkUpdate, error) {
	if s.dumped != nil {
		defer s.dumped()
	}
	return src.dump()
}

// openLinks subscribes to link events; the source is closed when ctx
// ends, which ends a receive in progress.
func (s *Subsystem) openLinks(ctx context.Context) (linkSource, error) {
	src, err := s.dialLinks()
	if err != nil {
		return nil, err
	}
	return &ctxLinks{linkSource: src, stop: context.AfterFunc(ctx, func() { src.Close() })}, nil
}

// ctxLinks is a source closed by its context's end or by Close.
type ctxLinks struct {
	linkSource
	stop func() bool
}

func (c *ctxLinks) Close() error {
	c.stop()
	return c.linkSource.Close()
}

// applyLinux sets observe mode and the first snapshot. Runs on the loop.
func (s *Subsystem) applyLinux(log *slog.Logger, obs []Observation) {
	s.started = true
	s.setMode(decision{why: "Linux: the kernel's " + NetvscDriver + " driver switches the data path itself"}, log)
	s.observeLinux(obs)
}

// openKmsg opens the kernel log at its end (SEEK_END: only records
// from now on, kernel/printk/printk.c devkmsg_llseek; a pipe cannot
// seek and starts where it is). Without it the observer still works
// from rtnetlink alone, so failure is logged, not returned.
//
// O_NONBLOCK: a FIFO given as --vf.kmsg would otherwise block the open
// until a writer comes (fs/pipe.c, fifo_open), and Run with it. The
// descriptor stays non-blocking and the runtime's poller waits for
// reads, which Close interrupts; /dev/kmsg returns EAGAIN when it has
// no record for a non-blocking reader (devkmsg_read) and supports poll
// (devkmsg_poll).
func (s *Subsystem) openKmsg(log *slog.Logger) io.ReadCloser {
	if s.cfg.Kmsg == "" {
		return nil
	}
	f, err := os.OpenFile(s.cfg.Kmsg, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		log.Info("kernel log not readable: VF data path switches are followed without its confirmations and failure counts",
			"path", s.cfg.Kmsg, "err", err)
		return nil
	}
	_, _ = f.Seek(0, io.SeekEnd)
	return f
}

// followKmsg counts hv_netvsc's lines until k is closed.
func (s *Subsystem) followKmsg(k io.Reader, env *agent.Env) {
	err := readKmsg(k, func(line []byte) {
		if e, ok := parseKmsg(line); ok {
			env.Loop.Post(func() { s.kernelEvent(e, env.Log) })
		}
	})
	if errors.Is(err, os.ErrClosed) { // closed by Run
		return
	}
	if err == nil {
		// /dev/kmsg never ends; a FIFO ends when its last writer
		// closes, or at once when it has none (fs/pipe.c, pipe_read).
		err = io.EOF
	}
	env.Log.Info("kernel log reading ended; its events are not counted any more", "path", s.cfg.Kmsg, "err", err)
	env.Loop.Post(func() {
		s.cfg.Metrics.setKernelLog(false, nil)
		s.releaseHolds()
	})
}

// kernelEvent counts e if its interface is a synthetic one the tracker
// knows: a name from kernel text never makes a series of its own. Runs
// on the loop.
func (s *Subsystem) kernelEvent(e kernelEvent, log *slog.Logger) {
	if _, known := s.tracker.Get(e.HN); !known || !s.cfg.Metrics.kernelLog {
		log.Debug("kernel: VF event of an interface not followed", "hn", e.HN, "vf", e.VF, "event", e.Event)
		return
	}
	s.cfg.Metrics.KernelEvents.WithLabelValues(e.HN, e.Event).Inc()
	s.switchResult(e)
	switch e.Event {
	case KernelSwitchToFailed, KernelSwitchFromFail:
		log.Warn("kernel: VF data path switch failed", "hn", e.HN, "vf", e.VF, "event", e.Event)
	default:
		log.Debug("kernel: VF event", "hn", e.HN, "vf", e.VF, "event", e.Event)
	}
}
