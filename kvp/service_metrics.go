package kvp

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// result is the outcome of a request, the "result" label of
// hvagent_kvp_requests_total.
type result uint8

const (
	resultOK result = iota
	resultCont
	resultFail
	resultInvalidArg
	resultGUIDNotFound
	resultNotSupported
	resultOther
	resultMalformed
	numResults
)

var resultNames = [numResults]string{
	resultOK:           "ok",
	resultCont:         "cont", // end of enumeration, or key not found
	resultFail:         "fail",
	resultInvalidArg:   "invalid_argument",
	resultGUIDNotFound: "guid_not_found",
	resultNotSupported: "not_supported",
	resultOther:        "other",
	resultMalformed:    "malformed",
}

// resultOf is the result of a reply with status st.
func resultOf(st Status) result {
	switch st {
	case StatusOK:
		return resultOK
	case StatusCont:
		return resultCont
	case StatusFail:
		return resultFail
	case StatusInvalidArg:
		return resultInvalidArg
	case StatusGUIDNotFound:
		return resultGUIDNotFound
	case StatusNotSupported:
		return resultNotSupported
	}
	return resultOther
}

// opLabels is the number of operation labels but one: Op(opLabels) and
// above are all "unknown".
const opLabels = len(opNames)

// requestSeries keeps the children of the request metrics once looked up,
// so that counting a request allocates nothing (WithLabelValues hashes
// its labels and builds a slice every call). A child is created on first
// use, as WithLabelValues would: series nobody used stay out of the
// exposition.
type requestSeries struct {
	counters  [opLabels + 1][NumPools + 1][numResults]atomic.Pointer[prometheus.Counter]
	durations [opLabels + 1]atomic.Pointer[prometheus.Observer]
}

// counter returns hvagent_kvp_requests_total{operation=op, pool=pool,
// result=res}; op is an Op (opLabels for "unknown"), pool a pool number
// (NumPools for "invalid").
func (rs *requestSeries) counter(m *Metrics, op, pool int, res result) prometheus.Counter {
	slot := &rs.counters[op][pool][res]
	if c := slot.Load(); c != nil {
		return *c
	}
	c := m.Requests.WithLabelValues(Op(op).String(), poolLabel(Op(op), pool), resultNames[res])
	slot.Store(&c)
	return c
}

// duration returns hvagent_kvp_request_duration_seconds{operation=op}.
func (rs *requestSeries) duration(m *Metrics, op int) prometheus.Observer {
	slot := &rs.durations[op]
	if o := slot.Load(); o != nil {
		return *o
	}
	o := m.RequestDuration.WithLabelValues(Op(op).String())
	slot.Store(&o)
	return o
}

// poolLabel is the pool label of a request: GET_IP_INFO and SET_IP_INFO
// name an adapter, not a pool (hv_kvp.h's hv_kvp_ipaddr_value has no pool
// field), so their series carry none; an empty label value is an absent
// label in the exposition.
func poolLabel(op Op, pool int) string {
	if op == OpGetIPInfo || op == OpSetIPInfo {
		return ""
	}
	return PoolName(pool)
}
