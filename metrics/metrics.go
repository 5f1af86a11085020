package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const namespace = "hvagent"

// Metrics is the registry and the agent-wide instruments.
type Metrics struct {
	Registry *prometheus.Registry

	SubsystemUp       *prometheus.GaugeVec
	SubsystemRestarts *prometheus.CounterVec
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
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
