package kvp

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// writeRawPool writes n records straight into pool file n of dir, the way
// an independent writer would, so big pools need no n durable SETs.
func writeRawPool(tb testing.TB, dir string, pool, n int) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, n*recordSize)
	for i := range n {
		rec := b[i*recordSize:]
		copy(rec[:MaxKeySize-1], fmt.Sprintf("key-%06d", i))
		copy(rec[MaxKeySize:recordSize-1], fmt.Sprintf("value of record %d", i))
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf(".kvp_pool_%d", pool)), b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// benchService serves a guest pool of records written by another writer,
// with metrics, as the agent does. It waits out racyWindow, so that the
// figures are of the unlocked read path the agent is on from then on.
func benchService(b *testing.B, records int) *Service { return benchServiceProto(b, records, FreeBSD) }

// benchServiceProto is benchService answering in protocol p.
func benchServiceProto(b *testing.B, records int, p Protocol) *Service {
	dir := filepath.Join(b.TempDir(), "pool")
	writeRawPool(b, dir, PoolGuest, records)
	store, err := OpenStore(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	time.Sleep(racyWindow)
	return NewService(ServiceConfig{Store: store, Facts: Facts{Version: "0.1.0"}, Metrics: NewMetrics(prometheus.NewRegistry()), Protocol: p})
}

func mustRequest(b *testing.B, m Msg) []byte { return mustRequestProto(b, FreeBSD, m) }

func mustRequestProto(b *testing.B, p Protocol, m Msg) []byte {
	req, err := p.EncodeRequest(m)
	if err != nil {
		b.Fatal(err)
	}
	return req
}

var benchSizes = []int{10, 1000, 10000}

// BenchmarkRequestGet is the service time of one GET, the key in the
// middle of the pool, as the subsystem runs it (HandleInto, one reply
// buffer): decode in place, one fstat to see the file unchanged, lookup,
// encode, count in the metrics; for each protocol (on Linux the
// message is two bytes longer and GET's value goes at 532).
func BenchmarkRequestGet(b *testing.B) {
	for _, p := range protocols {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/records=%d", p, n), func(b *testing.B) { benchGet(b, p, n) })
		}
	}
}

func benchGet(b *testing.B, p Protocol, n int) {
	svc := benchServiceProto(b, n, p)
	req := mustRequestProto(b, p, Msg{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: fmt.Sprintf("key-%06d", n/2)}})
	reply := make([]byte, p.MsgSize())
	b.ReportAllocs()
	for b.Loop() {
		if st := statusOf(svc.HandleInto(reply, req)); st != StatusOK {
			b.Fatalf("status %v", st)
		}
	}
}

// BenchmarkRequestSet is one durable SET replacing a value in place
// (journal, write, fsync).
func BenchmarkRequestSet(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			svc := benchService(b, n)
			// Two values in turn: setting an unchanged value writes nothing.
			key := fmt.Sprintf("key-%06d", n/2)
			reqs := [2][]byte{
				mustRequest(b, Msg{Op: OpSet, Pool: PoolGuest, KV: KeyValue{Key: key, Value: "new value A"}}),
				mustRequest(b, Msg{Op: OpSet, Pool: PoolGuest, KV: KeyValue{Key: key, Value: "new value B"}}),
			}
			i := 0
			for b.Loop() {
				i++
				if st := replyStatus(svc.Handle(reqs[i%2])); st != StatusOK {
					b.Fatalf("status %v", st)
				}
			}
		})
	}
}

// BenchmarkRequestEnumerate walks the whole pool as the host does, index
// 0 to HV_S_CONT and again; one op is one ENUMERATE request. On Linux
// the index counts only records the kernel can return (servable.go).
func BenchmarkRequestEnumerate(b *testing.B) {
	for _, p := range protocols {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/records=%d", p, n), func(b *testing.B) { benchEnumerate(b, p, n) })
		}
	}
}

func benchEnumerate(b *testing.B, p Protocol, n int) {
	svc := benchServiceProto(b, n, p)
	reqs := make([][]byte, n+1)
	for i := range reqs {
		reqs[i] = mustRequestProto(b, p, Msg{Op: OpEnumerate, Pool: PoolGuest, Index: uint32(i)})
	}
	reply := make([]byte, p.MsgSize())
	b.ReportAllocs()
	for i := 0; b.Loop(); i = (i + 1) % (n + 1) {
		st := statusOf(svc.HandleInto(reply, reqs[i]))
		if (i < n && st != StatusOK) || (i == n && st != StatusCont) {
			b.Fatalf("index %d: status %v", i, st)
		}
	}
}

// statusOf is the status of a reply: its first four bytes.
func statusOf(reply []byte) Status { return Status(binary.LittleEndian.Uint32(reply)) }

func replyStatus(b []byte) Status {
	m, err := DecodeReply(b, OpGet)
	if err != nil {
		return Status(0xffffffff)
	}
	return m.Status
}
