package netinfo

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the instruments of SET_IP_INFO handling. GET_IP_INFO and
// SET_IP_INFO themselves count in hvagent_kvp_requests_total.
type Metrics struct {
	Rejected      *prometheus.CounterVec
	ApplyFailures prometheus.Counter
	Superseded    prometheus.Counter
}

// NewMetrics creates the instruments and registers them on reg. Every
// reason starts at zero so that rate() sees the first rejection.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hvagent",
			Subsystem: "kvp",
			Name:      "set_ip_rejected_total",
			Help:      "SET_IP_INFO requests refused before anything was changed, by reason.",
		}, []string{"reason"}),
		ApplyFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hvagent",
			Subsystem: "kvp",
			Name:      "set_ip_apply_failures_total",
			Help:      "Accepted SET_IP_INFO requests whose live application (commands or hook, after the reply) failed.",
		}),
		Superseded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hvagent",
			Subsystem: "kvp",
			Name:      "set_ip_superseded_total",
			Help:      "Accepted SET_IP_INFO requests never applied live because a newer request for the same interface came while they waited.",
		}),
	}
	for _, r := range rejectReasons {
		m.Rejected.WithLabelValues(r)
	}
	reg.MustRegister(m.Rejected, m.ApplyFailures, m.Superseded)
	return m
}
