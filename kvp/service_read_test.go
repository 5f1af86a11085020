//go:build linux || freebsd

package kvp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// readService serves a guest pool of n records written by another
// writer, with metrics on, as the agent runs it.
func readService(t *testing.T, n int) (*Service, string) {
	t.Helper()
	return readServiceProto(t, n, FreeBSD)
}

// protocols are the kernels the service tests run for.
var protocols = []Protocol{FreeBSD, Linux}

// readServiceProto is readService speaking p.
func readServiceProto(t *testing.T, n int, p Protocol) (*Service, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pool")
	writeRawPool(t, dir, PoolGuest, n)
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := NewService(ServiceConfig{Store: store, Facts: Facts{Version: "0.1.0"}, Metrics: NewMetrics(prometheus.NewRegistry()), Protocol: p})
	return svc, store.Pool(PoolGuest).Path()
}

func mustEncode(t *testing.T, m Msg) []byte {
	t.Helper()
	return mustEncodeProto(t, FreeBSD, m)
}

func mustEncodeProto(t *testing.T, p Protocol, m Msg) []byte {
	t.Helper()
	b, err := p.EncodeRequest(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadPathAllocatesNothing: GET and ENUMERATE of a pool file, found or
// not, cost no allocation per request once the pool is loaded and its
// metric series exist.
func TestReadPathAllocatesNothing(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) { testReadPathAllocatesNothing(t, p) })
	}
}

func testReadPathAllocatesNothing(t *testing.T, p Protocol) {
	svc, _ := readServiceProto(t, 100, p)
	// Let the load stop being racy, so that the unlocked path is measured
	// (a racy load is read again under the locks, which allocates).
	time.Sleep(racyWindow)
	reqs := map[string]struct {
		req  []byte
		want Status
	}{
		"get":           {mustEncodeProto(t, p, Msg{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: "key-000042"}}), StatusOK},
		"get missing":   {mustEncodeProto(t, p, Msg{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: "no such key"}}), StatusCont},
		"enumerate":     {mustEncodeProto(t, p, Msg{Op: OpEnumerate, Pool: PoolGuest, Index: 7}), StatusOK},
		"enumerate end": {mustEncodeProto(t, p, Msg{Op: OpEnumerate, Pool: PoolGuest, Index: 100}), StatusCont},
		"get external":  {mustEncodeProto(t, p, Msg{Op: OpGet, Pool: PoolExternal, KV: KeyValue{Key: "k"}}), StatusCont},
	}
	reply := make([]byte, p.MsgSize())
	for name, tc := range reqs {
		t.Run(name, func(t *testing.T) {
			svc.HandleInto(reply, tc.req) // creates the metric series
			if st := statusOf(reply); st != tc.want {
				t.Fatalf("status %v, want %v", st, tc.want)
			}
			if n := testing.AllocsPerRun(200, func() { svc.HandleInto(reply, tc.req) }); n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
		})
	}
}

// TestReadPathRepliesAsBefore: the read path's replies are byte for byte
// what the general decoder and encoder produce.
func TestReadPathRepliesAsBefore(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) { testReadPathRepliesAsBefore(t, p) })
	}
}

func testReadPathRepliesAsBefore(t *testing.T, p Protocol) {
	svc, _ := readServiceProto(t, 10, p)
	for _, m := range []Msg{
		{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: "key-000003"}},
		{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: "key-0000"}},
		{Op: OpEnumerate, Pool: PoolGuest, Index: 9},
		{Op: OpEnumerate, Pool: PoolGuest, Index: 10},
		{Op: OpEnumerate, Pool: PoolGuest, Index: 0xffffffff},
	} {
		req := mustEncodeProto(t, p, m)
		status, body := svc.serve(Msg{Op: m.Op, Pool: m.Pool, KV: KeyValue{Key: m.KV.Key}, Index: m.Index})
		want, err := p.EncodeReply(m, status, body)
		if err != nil {
			t.Fatal(err)
		}
		// A dirty buffer: every byte of the reply must be written.
		reply := make([]byte, p.MsgSize())
		for i := range reply {
			reply[i] = 0xa5
		}
		if got := svc.HandleInto(reply, req); string(got) != string(want) {
			t.Errorf("%v %q index %d: reply differs from the general encoder's", m.Op, m.KV.Key, m.Index)
		}
	}
}

// appendLocked appends a record under flock(LOCK_EX), as cloud-init does.
func appendLocked(path, key, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	_, err = f.Write(rawRecord(key, value))
	return err
}

// rewriteLocked rewrites record slot in place, same size, under
// flock(LOCK_EX): the change only its mtime and ctime show, and within one
// tick of a coarse file system clock not even those.
func rewriteLocked(path string, slot int, key, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	_, err = f.WriteAt(rawRecord(key, value), int64(slot)*recordSize)
	return err
}

func hostGet(t *testing.T, svc *Service, reply []byte, key string) (string, Status) {
	t.Helper()
	svc.HandleInto(reply, mustEncode(t, Msg{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: key}}))
	m, err := DecodeReply(reply, OpGet)
	if err != nil {
		t.Fatal(err)
	}
	return m.KV.Value, m.Status
}

// TestReadPathSeesExternalWrites interleaves another writer's changes
// with host GETs as fast as they go: every change is seen by the very
// next GET, whether it appends (cloud-init, azure-init) or rewrites a
// record in place with a value of the same size.
func TestReadPathSeesExternalWrites(t *testing.T) {
	svc, path := readService(t, 10)
	reply := make([]byte, MsgSize)
	for i := range 300 {
		key, value := fmt.Sprintf("appended-%04d", i), fmt.Sprintf("a%04d", i)
		if err := appendLocked(path, key, value); err != nil {
			t.Fatal(err)
		}
		if v, st := hostGet(t, svc, reply, key); st != StatusOK || v != value {
			t.Fatalf("append %d: next GET = %q, %v", i, v, st)
		}
		value = fmt.Sprintf("r%04d", i)
		if err := rewriteLocked(path, 3, "key-000003", value); err != nil {
			t.Fatal(err)
		}
		if v, st := hostGet(t, svc, reply, "key-000003"); st != StatusOK || v != value {
			t.Fatalf("rewrite %d: next GET = %q, %v", i, v, st)
		}
	}
}

// TestReadPathConcurrentWriter runs the other writer in its own goroutine
// at full speed: a GET issued after a change completed sees it.
func TestReadPathConcurrentWriter(t *testing.T) {
	svc, path := readService(t, 10)
	const rounds = 400
	var written atomic.Int64 // rounds completed by the writer
	written.Store(-1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range rounds {
			if err := rewriteLocked(path, 5, "key-000005", fmt.Sprintf("%06d", i)); err != nil {
				t.Error(err)
				return
			}
			if i%8 == 0 {
				if err := appendLocked(path, fmt.Sprintf("more-%04d", i), "x"); err != nil {
					t.Error(err)
					return
				}
			}
			written.Store(int64(i))
		}
	})
	reply := make([]byte, MsgSize)
	for gets := 0; ; gets++ {
		done := written.Load()
		v, st := hostGet(t, svc, reply, "key-000005")
		if st != StatusOK {
			t.Fatalf("GET status %v", st)
		}
		n, err := strconv.Atoi(v)
		if done >= 0 && (err != nil || int64(n) < done) {
			t.Fatalf("GET after round %d of the writer = %q", done, v)
		}
		if done >= 0 && done%8 == 0 {
			if _, st := hostGet(t, svc, reply, fmt.Sprintf("more-%04d", done)); st != StatusOK {
				t.Fatalf("GET of the record appended in round %d: %v", done, st)
			}
		}
		if done == rounds-1 {
			t.Logf("%d GETs while the writer ran", gets)
			break
		}
	}
	wg.Wait()
}

// FuzzReadPath: for any GET or ENUMERATE the host could send, the read
// path's reply is byte for byte the general path's (DecodeRequest, serve,
// EncodeReply), malformed requests included.
func FuzzReadPath(f *testing.F) {
	for _, m := range []Msg{
		{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: "key-000003"}},
		{Op: OpGet, Pool: PoolExternal, KV: KeyValue{Key: "x"}},
		{Op: OpEnumerate, Pool: PoolGuest, Index: 4},
	} {
		b, err := EncodeRequest(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:16+MaxKeySize+8], uint32(m.KV.ValueType))
	}
	dir := filepath.Join(f.TempDir(), "pool")
	writeRawPool(f, dir, PoolGuest, 10)
	store, err := OpenStore(dir)
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	svc := NewService(ServiceConfig{Store: store, Facts: Facts{Version: "0.1.0"}})
	reply := make([]byte, MsgSize)
	f.Fuzz(func(t *testing.T, head []byte, sizes uint32) {
		b := make([]byte, MsgSize)
		copy(b, head)
		b[offOp] %= 4
		if Op(b[offOp]) != OpGet && Op(b[offOp]) != OpEnumerate {
			b[offOp] = byte(OpGet)
		}
		b[offPool] %= NumPools
		if b[offPool] == PoolAuto {
			b[offPool] = PoolGuest
		}
		if sizes&1 == 1 { // sometimes a value size the key decides
			binary.LittleEndian.PutUint32(b[offVSize:], sizes>>1)
		}
		op := Op(b[offOp])
		var want []byte
		if req, err := DecodeRequest(b); err != nil {
			want, _ = EncodeReply(Msg{Op: op}, StatusInvalidArg, Msg{})
		} else {
			status, body := svc.serve(req)
			if want, err = EncodeReply(req, status, body); err != nil {
				t.Fatal(err)
			}
		}
		if got := svc.HandleInto(reply, b); !bytes.Equal(got, want) {
			t.Fatalf("%v request: the read path's reply differs from the general path's", op)
		}
	})
}
