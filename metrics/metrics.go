// Package metrics holds hvagent's Prometheus instruments and serves them.
//
// Every family lives in one private registry (never the global default),
// so a scrape shows exactly what the agent exports. Instruments of the
// agent's own work are created here; values read from the system at scrape
// time are Collectors registered by the subsystem that owns them.
package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const namespace = "hvagent"

// Metrics is the set of instruments shared by the agent and subsystems.
type Metrics struct {
	Registry *prometheus.Registry

	SubsystemUp       *prometheus.GaugeVec
	SubsystemRestarts *prometheus.CounterVec

	KVPRequests        *prometheus.CounterVec
	KVPRequestDuration *prometheus.HistogramVec
	KVPPoolFull        *prometheus.CounterVec
}

// New creates the registry and the agent-wide families. version and
// revision label hvagent_build_info.
func New(version, revision string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		SubsystemUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "subsystem_up",
			Help:      "Whether the subsystem is connected to its device and serving (1) or not (0).",
		}, []string{"subsystem"}),
		SubsystemRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "subsystem_restarts_total",
			Help:      "Times the supervisor restarted a subsystem after a transient failure.",
		}, []string{"subsystem"}),
		KVPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "kvp",
			Name:      "requests_total",
			Help:      "KVP requests from the host by operation, pool and result (the reply status, or malformed).",
		}, []string{"operation", "pool", "result"}),
		KVPRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Subsystem: "kvp",
			Name:      "request_duration_seconds",
			Help:      "Time from reading a KVP request to writing its reply; the kernel gives up after 5 s.",
			// Most requests take microseconds, a durable SET milliseconds;
			// the top buckets show requests nearing the kernel's 5 s deadline.
			Buckets: []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 4, 5},
		}, []string{"operation"}),
		KVPPoolFull: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "kvp",
			Name:      "pool_full_total",
			Help:      "Host SETs of a new key refused with HV_E_FAIL because the pool held --kvp.max-records records.",
		}, []string{"pool"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace,
		Name:      "build_info",
		Help:      "A metric with a constant '1' value labeled by the version and revision of hvagent and the Go version it was built with.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(version, revision, runtime.Version()).Set(1)

	reg.MustRegister(
		buildInfo,
		m.SubsystemUp,
		m.SubsystemRestarts,
		m.KVPRequests,
		m.KVPRequestDuration,
		m.KVPPoolFull,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
