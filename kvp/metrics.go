package kvp

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the KVP families. The subsystem's own work is counted by
// direct instruments; hvagent_kvp_pool_records is read from the pools at
// scrape time. SET_IP_INFO's own families are netinfo's (netinfo.Metrics).
type Metrics struct {
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	PoolFull        *prometheus.CounterVec

	pools *poolCollector
}

// NewMetrics creates the KVP instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "hvagent", "kvp"
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns,
			Subsystem: sub,
			Name:      "requests_total",
			Help:      "KVP requests from the host by operation, pool and result (the reply status, or malformed).",
		}, []string{"operation", "pool", "result"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns,
			Subsystem: sub,
			Name:      "request_duration_seconds",
			Help:      "Time from reading a KVP request to writing its reply; the kernel gives up after 5 s.",
			// Most requests take microseconds, a durable SET milliseconds;
			// the top buckets show requests nearing the kernel's 5 s deadline.
			Buckets: []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 4, 5},
		}, []string{"operation"}),
		PoolFull: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns,
			Subsystem: sub,
			Name:      "pool_full_total",
			Help:      "Host SETs of a new key refused with HV_E_FAIL because the pool held --kvp.max-records records.",
		}, []string{"pool"}),
		pools: newPoolCollector(),
	}
	reg.MustRegister(m.Requests, m.RequestDuration, m.PoolFull, m.pools)
	return m
}

// setStore points hvagent_kvp_pool_records at the pools the subsystem
// opened; nil (closed) leaves the family without series. m may be nil.
func (m *Metrics) setStore(st *Store) {
	if m != nil {
		m.pools.store.Store(st)
	}
}

// poolCollector exports hvagent_kvp_pool_records, read from the pools at
// scrape time so records other writers append (cloud-init) are counted.
// Until the pools are opened (no device yet) the family has no series.
type poolCollector struct {
	store atomic.Pointer[Store]
	desc  *prometheus.Desc
}

func newPoolCollector() *poolCollector {
	return &poolCollector{
		desc: prometheus.NewDesc("hvagent_kvp_pool_records",
			"Records in each KVP pool; the auto pool counts the items the agent computes. The host reads about 1024 per pool at most.",
			[]string{"pool"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	store := c.store.Load()
	if store == nil {
		return
	}
	for n := range NumPools {
		count := len(autoKeys)
		if n != PoolAuto {
			l, err := store.Pool(n).Len()
			if err != nil {
				ch <- prometheus.NewInvalidMetric(c.desc, err)
				continue
			}
			count = l
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(count), PoolName(n))
	}
}
