package vf

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the VF families hvagent(8) lists under METRICS, updated
// from the events.
type Metrics struct {
	Datapath       *prometheus.GaugeVec
	Info           *prometheus.GaugeVec
	Transitions    *prometheus.CounterVec
	LastTransition *prometheus.GaugeVec
	Degraded       *prometheus.HistogramVec
	LaggActions    *prometheus.CounterVec
	HeldBack       *prometheus.CounterVec
	DevdLines      *prometheus.CounterVec
	DevdConnected  prometheus.Gauge
	Managing       prometheus.Gauge
	// KernelEvents counts hv_netvsc's kernel log lines (Linux only). It
	// is registered only while the kernel log is read (setKernelLog):
	// without it the family is absent, "not observed", not zero.
	KernelEvents *prometheus.CounterVec

	reg       prometheus.Registerer // where KernelEvents goes, on Linux
	kernelLog bool                  // KernelEvents registered (loop-owned)
}

// Transition directions, the direction label.
const (
	DirToSynthetic = "to_synthetic" // the datapath left the VF
	DirToVF        = "to_vf"        // the datapath is back on the VF
)

// DegradedBuckets span the windows seen in practice: seconds for a VF
// bounced by the guest, ~30 s for host servicing, minutes for a slow
// re-attach, hours for a VF that does not come back.
var DegradedBuckets = []float64{1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600, 7200, 14400}

// NewMetrics creates the VF instruments and registers those of FreeBSD
// guests on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := newMetrics()
	reg.MustRegister(m.Datapath, m.Info, m.Transitions, m.LastTransition, m.Degraded, m.LaggActions, m.HeldBack, m.DevdLines, m.DevdConnected, m.Managing)
	return m
}

// NewLinuxMetrics creates the VF instruments and registers those of
// Linux guests on reg: the state machine's families and managing
// (always 0: the kernel manages); the kernel log's events follow once
// the log is open. The families of devd and of lagg actions do not
// apply and are absent, not zero (SPEC §5).
func NewLinuxMetrics(reg prometheus.Registerer) *Metrics {
	m := newMetrics()
	m.reg = reg
	reg.MustRegister(m.Datapath, m.Info, m.Transitions, m.LastTransition, m.Degraded, m.Managing)
	return m
}

// setKernelLog registers KernelEvents, with every event of hns at zero,
// when the kernel log is open, and unregisters it when reading it ended.
// Runs on the loop.
func (m *Metrics) setKernelLog(open bool, hns []string) {
	if m.reg == nil || open == m.kernelLog {
		return
	}
	m.kernelLog = open
	if !open {
		m.reg.Unregister(m.KernelEvents)
		return
	}
	if err := m.reg.Register(m.KernelEvents); err != nil {
		if !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			panic(err) // a family of another name or type: a programming error, as MustRegister
		}
	}
	for _, hn := range hns {
		m.initKernel(hn)
	}
}

func (m *Metrics) initKernel(hn string) {
	for _, e := range kernelEventNames {
		m.KernelEvents.WithLabelValues(hn, e)
	}
}

func newMetrics() *Metrics {
	const ns, sub = "hvagent", "vf"
	m := &Metrics{
		Datapath: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "datapath_vf",
			Help: "Whether the traffic of the synthetic interface (hnN on FreeBSD, ethN on Linux) runs on its VF (1) or on the synthetic path (0)."}, []string{"hn"}),
		Info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "info",
			Help: "Constant 1 labelled with the current VF interface (empty when none) of the synthetic interface (hnN on FreeBSD, ethN on Linux) and the VF mode (transparent or non_transparent)."},
			[]string{"hn", "vf", "mode"}),
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "transitions_total",
			Help: "Datapath transitions of the synthetic interface (hnN on FreeBSD, ethN on Linux): to_synthetic when the VF went away, to_vf when traffic went back to it."},
			[]string{"hn", "direction"}),
		LastTransition: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "last_transition_timestamp_seconds",
			Help: "Unix time of the last datapath transition of the synthetic interface (hnN on FreeBSD, ethN on Linux)."}, []string{"hn"}),
		Degraded: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "degraded_duration_seconds",
			Help:    "Length of each window in which the traffic of the synthetic interface (hnN on FreeBSD, ethN on Linux) ran on the synthetic path because its VF was gone, observed when the VF is back.",
			Buckets: DegradedBuckets}, []string{"hn"}),
		LaggActions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "lagg_actions_total",
			Help: "Manage-mode actions by kind (vf_up, create, add_port, override) and result (success, failure)."},
			[]string{"hn", "action", "result"}),
		HeldBack: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "actions_held_back_total",
			Help: "Manage-mode actions not run because hnN exceeded the action rate limit (a flap storm); the latest one runs once the limit allows."},
			[]string{"hn"}),
		DevdLines: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "devd_lines_total",
			Help: "Lines read from devd by result: relevant (a network event), ignored (other systems), malformed (skipped)."},
			[]string{"result"}),
		DevdConnected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "devd_connected",
			Help: "Whether the vf subsystem is connected to devd's event socket (1) or reconnecting (0): VF events are not seen meanwhile."}),
		Managing: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "managing",
			Help: "Whether the agent acts on VF events (1, manage mode) or only observes them (0)."}),
		KernelEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "kernel_events_total",
			Help: "hv_netvsc's kernel log lines about the VF of the synthetic interface (ethN; Linux only, present while the kernel log is read): vf_registering, vf_unregistering, switched_to_vf, switched_from_vf, and the failed switches switch_to_vf_failed, switch_from_vf_failed."},
			[]string{"hn", "event"}),
	}
	for _, r := range []string{"relevant", "ignored", "malformed"} {
		m.DevdLines.WithLabelValues(r)
	}
	return m
}

// actionNames are every value of the action label.
var actionNames = []string{ActionVFUp, ActionCreate, ActionAddPort, ActionOverride}

// initHN creates hn's counter and histogram series at zero when hn is
// first seen. A counter that appears only at its first increment starts
// at 1, and increase() over it is 0: an alert on failures would miss the
// first one (the Prometheus guideline "avoid missing metrics").
func (m *Metrics) initHN(hn string) {
	m.Transitions.WithLabelValues(hn, DirToSynthetic)
	m.Transitions.WithLabelValues(hn, DirToVF)
	for _, a := range actionNames {
		m.LaggActions.WithLabelValues(hn, a, "success")
		m.LaggActions.WithLabelValues(hn, a, "failure")
	}
	m.HeldBack.WithLabelValues(hn)
	m.Degraded.WithLabelValues(hn)
	if m.kernelLog {
		m.initKernel(hn)
	}
}
