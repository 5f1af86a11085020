package vss

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the VSS families hvagent(8) lists under METRICS.
type Metrics struct {
	Operations     *prometheus.CounterVec
	Frozen         prometheus.Gauge
	FrozenDuration prometheus.Histogram
	AutoThaws      *prometheus.CounterVec
	HookFailures   prometheus.Counter
	LastSuccess    prometheus.Gauge
	// FreezeSkipped counts filesystems a FREEZE meant to freeze and left
	// alone, by reason: unsupported (the freeze ioctl said EOPNOTSUPP).
	FreezeSkipped *prometheus.CounterVec
}

// Results (the result label of hvagent_vss_operations_total).
const (
	resultSuccess = "success"
	resultFailure = "failure"
	// resultSkipped: a read that carried no request, as the kernel had
	// timed it out; its operation label is always "unknown".
	resultSkipped = "skipped"
)

// Auto-thaw reasons (the reason label of hvagent_vss_auto_thaws_total).
const (
	autoMaxFrozen    = "max_frozen"    // no THAW within --vss.max-frozen
	autoFreezerDied  = "freezer_died"  // the freezer exited while frozen
	autoFreezerTimer = "freezer_timer" // the freezer's own deadline fired first
)

// Skip reasons (the reason label of hvagent_vss_freeze_skipped_total).
const skipUnsupported = "unsupported" // the filesystem has no freeze (EOPNOTSUPP)

// NewMetrics creates the VSS instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "operations_total",
			Help: "VSS requests from the host by operation (check, freeze, thaw, unknown) and result (success, failure; skipped, with operation unknown: a read the kernel had emptied because the request timed out before it).",
		}, []string{"operation", "result"}),
		Frozen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "frozen",
			Help: "1 from a successful FREEZE until the thaw (filesystems frozen, or only ZFS pools synced), else 0.",
		}),
		FrozenDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "frozen_duration_seconds",
			Help:    "How long each freeze lasted, from FREEZE answered to thawed.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120},
		}),
		AutoThaws: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "auto_thaws_total",
			Help: "Thaws nobody asked for, by reason: max_frozen (no THAW in time), freezer_died, freezer_timer (the freezer's own deadline).",
		}, []string{"reason"}),
		HookFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "hook_failures_total",
			Help: "Freeze/thaw hooks that failed or were killed at their timeout.",
		}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last backup cycle completed by a THAW from the host (0: none yet).",
		}),
		FreezeSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hvagent", Subsystem: "vss", Name: "freeze_skipped_total",
			Help: "Filesystems a FREEZE meant to freeze and skipped, by reason: unsupported (the kernel has no freeze for the filesystem, EOPNOTSUPP; its data is only crash-consistent).",
		}, []string{"reason"}),
	}
	m.FreezeSkipped.WithLabelValues(skipUnsupported)
	for _, op := range []Op{OpCheck, OpFreeze, OpThaw, 0} {
		for _, res := range []string{resultSuccess, resultFailure} {
			m.Operations.WithLabelValues(op.String(), res)
		}
	}
	m.Operations.WithLabelValues(Op(0).String(), resultSkipped)
	for _, r := range []string{autoMaxFrozen, autoFreezerDied, autoFreezerTimer} {
		m.AutoThaws.WithLabelValues(r)
	}
	reg.MustRegister(m.Operations, m.Frozen, m.FrozenDuration, m.AutoThaws, m.HookFailures, m.LastSuccess, m.FreezeSkipped)
	return m
}
