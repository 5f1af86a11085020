package kvp

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports hvagent_kvp_pool_records, read from the pools at
// scrape time so records other writers append (cloud-init) are counted.
type Collector struct {
	store func() *Store
	desc  *prometheus.Desc
}

// NewCollector returns a Collector over store.
func NewCollector(store *Store) *Collector {
	return NewLazyCollector(func() *Store { return store })
}

// NewLazyCollector returns a Collector over the store that store returns
// at scrape time; while it returns nil (pools not opened yet, or the
// subsystem disabled) the family has no series.
func NewLazyCollector(store func() *Store) *Collector {
	return &Collector{
		store: store,
		desc: prometheus.NewDesc("hvagent_kvp_pool_records",
			"Records in each KVP pool; the auto pool counts the items the agent computes. The host reads about 1024 per pool at most.",
			[]string{"pool"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	store := c.store()
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
