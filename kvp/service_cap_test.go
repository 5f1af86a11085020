//go:build linux || freebsd

package kvp

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestServiceMaxRecords: a SET of a new key into a full pool gets
// HV_E_FAIL, is counted and logged once until the pool has room again;
// replacing a value still works and no record is lost.
func TestServiceMaxRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	writeRawPool(t, dir, PoolGuest, 3)
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	m := NewMetrics(prometheus.NewRegistry())
	log, buf := captureLog()
	svc := NewService(ServiceConfig{Store: store, Facts: Facts{Version: "0.1.0"}, Log: log, Metrics: m, MaxRecords: 3})
	do := func(m Msg) Status {
		t.Helper()
		req, err := EncodeRequest(m)
		if err != nil {
			t.Fatal(err)
		}
		reply, err := DecodeReply(svc.Handle(req), m.Op)
		if err != nil {
			t.Fatal(err)
		}
		return reply.Status
	}
	set := func(k, v string) Status { return do(Msg{Op: OpSet, Pool: PoolGuest, KV: KeyValue{Key: k, Value: v}}) }
	full := func() float64 { return testutil.ToFloat64(m.PoolFull.WithLabelValues("guest")) }
	warnings := func() int { return strings.Count(buf.String(), "level=WARN msg=\"pool full") }

	for i := range 3 {
		if st := set(fmt.Sprintf("new-%d", i), "v"); st != StatusFail {
			t.Fatalf("SET of a new key into a full pool: %v, want HV_E_FAIL", st)
		}
	}
	if full() != 3 || warnings() != 1 {
		t.Fatalf("refused SETs counted %v, warned %d times; want 3 and once", full(), warnings())
	}
	if st := set("key-000001", "replaced"); st != StatusOK {
		t.Fatalf("replacing a value in a full pool: %v", st)
	}
	if n, _ := store.Pool(PoolGuest).Len(); n != 3 {
		t.Fatalf("%d records, want the 3 there were", n)
	}
	if st := do(Msg{Op: OpDelete, Pool: PoolGuest, KV: KeyValue{Key: "key-000000"}}); st != StatusOK {
		t.Fatalf("DELETE: %v", st)
	}
	if st := set("new-a", "v"); st != StatusOK {
		t.Fatalf("SET with room again: %v", st)
	}
	if st := set("new-b", "v"); st != StatusFail || warnings() != 2 {
		t.Fatalf("full again: status %v, warned %d times; want HV_E_FAIL and a second warning", st, warnings())
	}
}
