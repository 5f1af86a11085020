//go:build linux || freebsd

package kvp

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The crash and appender tests run parts of themselves in a child process:
// the test binary started again with -test.run selecting
// TestPoolHelperProcess and the environment saying what to do.
const (
	helperEnv      = "HVAGENT_KVP_POOL_HELPER"
	helperDirEnv   = "HVAGENT_KVP_POOL_DIR"
	helperStartEnv = "HVAGENT_KVP_POOL_START"
	helperCountEnv = "HVAGENT_KVP_POOL_COUNT"
)

func TestPoolHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process of the crash and appender tests")
	}
	dir := os.Getenv(helperDirEnv)
	var err error
	switch mode {
	case "crash":
		start, _ := strconv.Atoi(os.Getenv(helperStartEnv))
		err = crashChild(dir, start)
	case "append":
		count, _ := strconv.Atoi(os.Getenv(helperCountEnv))
		err = appendChild(dir, count)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func helperCommand(mode, dir string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestPoolHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// appendChild appends count records to pool 1 the way cloud-init's
// HyperVKvpReportingHandler does: open for append, flock(LOCK_EX), write
// whole records, unlock, close.
func appendChild(dir string, count int) error {
	path := filepath.Join(dir, ".kvp_pool_1")
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	for i := 0; i < count; {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			return err
		}
		for n := 1 + r.IntN(3); n > 0 && i < count; n-- {
			if _, err := f.Write(rawRecord(appendKey(i), appendValue(i))); err != nil {
				return err
			}
			i++
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		time.Sleep(time.Duration(r.IntN(4000)) * time.Microsecond)
	}
	return nil
}

func appendKey(i int) string { return fmt.Sprintf("CLOUD_INIT|event|%04d", i) }
func appendValue(i int) string {
	return fmt.Sprintf(`{"event": %d, "pad": %q}`, i, strings.Repeat("p", i%700))
}

// TestAppendConcurrentProcess runs a cloud-init-like appender in another
// process while this one updates and reads the same pool. No record of
// either side may be lost or duplicated.
func TestAppendConcurrentProcess(t *testing.T) {
	dir := t.TempDir()
	p := openTestPool(t, dir, 1)
	const appends = 300
	cmd := helperCommand("append", dir, helperCountEnv+"="+strconv.Itoa(appends))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	model := map[string]string{}
	r := rand.New(rand.NewPCG(3, 4))
	seen := 0 // appended records visible while the child ran
	var childErr error
	running := true
	// Keep going until the appender is done, so the two overlap all along.
	for i := 0; i < 300 || running; i++ {
		if running {
			select {
			case childErr = <-done:
				running = false
			default:
			}
		}
		k := fmt.Sprintf("own-%02d", r.IntN(30))
		switch x := r.IntN(10); {
		case x < 5:
			v := fmt.Sprintf("value %d %s", i, strings.Repeat("v", r.IntN(1000)))
			if err := p.Set(k, v); err != nil {
				t.Fatal(err)
			}
			model[k] = v
		case x < 7:
			_, want := model[k]
			if found, err := p.Delete(k); err != nil || found != want {
				t.Fatalf("Delete(%s) = %v, %v; want %v", k, found, err, want)
			}
			delete(model, k)
		case x < 9:
			n, err := p.Len()
			if err != nil {
				t.Fatal(err)
			}
			if running {
				seen = max(seen, n-len(model))
			}
			if _, _, err := p.At(r.IntN(n + 1)); err != nil {
				t.Fatal(err)
			}
		default:
			v, ok, err := p.Get(k)
			if want, wok := model[k]; err != nil || ok != wok || v != want {
				t.Fatalf("Get(%s) = %.20q, %v, %v; want %.20q", k, v, ok, err, want)
			}
		}
	}
	if childErr != nil {
		t.Fatalf("appender: %v\n%s", childErr, out.Bytes())
	}
	t.Logf("%d of %d appended records were visible before the appender finished", seen, appends)

	got := map[string]string{}
	for _, rec := range mustRecords(t, p) {
		if _, dup := got[rec.Key]; dup {
			t.Fatalf("duplicate record %q", rec.Key)
		}
		got[rec.Key] = rec.Value
	}
	for i := range appends {
		if v, ok := got[appendKey(i)]; !ok || v != appendValue(i) {
			t.Errorf("appended record %d lost or damaged", i)
		}
	}
	for k, v := range model {
		if got[k] != v {
			t.Errorf("%s = %.20q, want %.20q", k, got[k], v)
		}
	}
	if len(got) != appends+len(model) {
		t.Errorf("%d records, want %d", len(got), appends+len(model))
	}
	if size := fileSize(t, p.Path()); size%2560 != 0 {
		t.Errorf("file size %d", size)
	}
}

type crashOp struct {
	pool       int
	del        bool
	key, value string
}

const crashOpCount = 300

// crashOps is the deterministic sequence the crash child runs.
func crashOps() []crashOp {
	r := rand.New(rand.NewPCG(7, 11))
	ops := make([]crashOp, crashOpCount)
	for i := range ops {
		op := crashOp{pool: 1 + r.IntN(2), key: fmt.Sprintf("key-%02d", r.IntN(20))}
		if r.IntN(10) < 3 {
			op.del = true
		} else {
			op.value = fmt.Sprintf("%d:%s", i, strings.Repeat("v", r.IntN(2000)))
		}
		ops[i] = op
	}
	return ops
}

type poolState [NumPools]map[string]string

func modelAfter(ops []crashOp, n int) poolState {
	var s poolState
	for i := range s {
		s[i] = map[string]string{}
	}
	for _, op := range ops[:n] {
		if op.del {
			delete(s[op.pool], op.key)
		} else {
			s[op.pool][op.key] = op.value
		}
	}
	return s
}

func equalState(a, b poolState) bool {
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k, v := range a[i] {
			if w, ok := b[i][k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

// crashChild runs ops[start:] and prints "op N" after op N completed.
func crashChild(dir string, start int) error {
	ops := crashOps()
	var pools [NumPools]*Pool
	for _, n := range []int{1, 2} {
		p, err := OpenPool(dir, n)
		if err != nil {
			return err
		}
		pools[n] = p
	}
	for i := start; i < len(ops); i++ {
		op := ops[i]
		var err error
		if op.del {
			_, err = pools[op.pool].Delete(op.key)
		} else {
			err = pools[op.pool].Set(op.key, op.value)
		}
		if err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		fmt.Printf("op %d\n", i)
	}
	return nil
}

// TestCrashKill SIGKILLs a child process at random points of a sequence of
// updates. After recovery each pool must hold the state after the last op
// the child reported, or after the one it was doing.
func TestCrashKill(t *testing.T) {
	base := t.TempDir()
	ops := crashOps()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	start, iter, journals, midOp, rounds := 0, 0, 0, 0, 1
	dir := filepath.Join(base, "1")
	for ; iter < 40; iter++ {
		if start == len(ops) { // all done: start over in a fresh directory
			rounds++
			dir, start = filepath.Join(base, strconv.Itoa(rounds)), 0
		}
		completed := runCrashChild(t, dir, start, r)
		for _, n := range []int{1, 2} {
			if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf(".kvp_pool_%d.journal", n))); err == nil {
				journals++
			}
		}
		state := readPoolState(t, dir)
		switch {
		case equalState(state, modelAfter(ops, completed)):
			start = completed
		case completed < len(ops) && equalState(state, modelAfter(ops, completed+1)):
			start = completed + 1
			midOp++
		default:
			t.Fatalf("iteration %d: after %d completed ops the pools match neither the state before nor after op %d", iter, completed, completed)
		}
	}
	t.Logf("%d kills (%d left a journal, %d after an unreported op) in %d rounds of %d ops", iter, journals, midOp, rounds, len(ops))
}

// runCrashChild starts the child at op start, waits for a random number of
// completed ops and a random delay, kills it and returns how many ops of
// the whole sequence were reported complete.
func runCrashChild(t *testing.T, dir string, start int, r *rand.Rand) int {
	t.Helper()
	cmd := helperCommand("crash", dir, helperStartEnv+"="+strconv.Itoa(start))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan int, crashOpCount)
	var other bytes.Buffer // anything else the child says, for failures
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "op ")); err == nil && strings.HasPrefix(sc.Text(), "op ") {
				lines <- n
			} else {
				fmt.Fprintln(&other, sc.Text())
			}
		}
		close(lines)
	}()
	completed := start
	for range r.IntN(16) {
		n, ok := <-lines
		if !ok {
			break
		}
		completed = n + 1
	}
	time.Sleep(time.Duration(r.IntN(4000)) * time.Microsecond)
	cmd.Process.Kill()
	for n := range lines {
		completed = n + 1
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()) {
		t.Fatalf("crash child: %v\n%s%s", err, other.Bytes(), stderr.Bytes())
	}
	return completed
}

// readPoolState opens (and so recovers) pools 1 and 2 and returns them.
func readPoolState(t *testing.T, dir string) poolState {
	t.Helper()
	var s poolState
	for n := range s {
		s[n] = map[string]string{}
	}
	for _, n := range []int{1, 2} {
		p, err := OpenPool(dir, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range mustRecords(t, p) {
			if _, dup := s[n][rec.Key]; dup {
				t.Fatalf("pool %d: duplicate key %q", n, rec.Key)
			}
			s[n][rec.Key] = rec.Value
		}
		p.Close()
		checkRecovered(t, p.Path())
	}
	return s
}

func checkRecovered(t *testing.T, path string) {
	t.Helper()
	if size := fileSize(t, path); size%2560 != 0 {
		t.Fatalf("%s: size %d is not a whole number of records", path, size)
	}
	if _, err := os.Stat(path + ".journal"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("journal left after recovery: %v", err)
	}
}

func sortedRecords(recs []Record) []Record {
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b Record) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Value, b.Value))
	})
	return recs
}

// TestRecoverJournal hand-crafts every kind of journal with the pool file
// in each state a crash (or power loss, tearing a write) can leave, some
// with a record a foreign writer appended after the crash.
func TestRecoverJournal(t *testing.T) {
	rec := func(k, v string) []byte { return rawRecord(k, v) }
	A, B, C, D := rec("a", "1"), rec("b", "2"), rec("c", "3"), rec("d", "4")
	B2, N := rec("b", "two, replaced"), rec("n", "new")
	F, G := rec("CLOUD_INIT|f", "foreign"), rec("CLOUD_INIT|g", "foreign too")
	zero := make([]byte, 2560)
	torn := func(newer, older []byte) []byte { // first two sectors written
		out := slices.Clone(older)
		copy(out[:1024], newer[:1024])
		return out
	}
	j := func(kind journalKind, slot int64, r, old []byte) []byte {
		jj := &journal{kind: kind, slot: slot, oldSize: 4 * 2560}
		copy(jj.rec[:], r)
		copy(jj.old[:], old)
		return jj.marshal(1)
	}
	replace, appendN := j(kindReplace, 1, B2, B), j(kindAppend, 4, N, nil)
	delMid, delLast := j(kindDelete, 1, D, B), j(kindDelete, 3, D, D)
	badCRC := slices.Clone(replace)
	badCRC[100] ^= 1
	otherPool := (&journal{kind: kindReplace, slot: 1, oldSize: 4 * 2560}).marshal(2)
	r := func(k, v string) Record { return Record{k, v} }
	rA, rB, rC, rD := r("a", "1"), r("b", "2"), r("c", "3"), r("d", "4")
	rB2, rN := r("b", "two, replaced"), r("n", "new")
	rF, rG := r("CLOUD_INIT|f", "foreign"), r("CLOUD_INIT|g", "foreign too")

	tests := []struct {
		name    string
		file    [][]byte
		journal []byte
		want    []Record
	}{
		{"replace/not applied", [][]byte{A, B, C, D}, replace, []Record{rA, rB2, rC, rD}},
		{"replace/torn", [][]byte{A, torn(B2, B), C, D}, replace, []Record{rA, rB2, rC, rD}},
		{"replace/applied", [][]byte{A, B2, C, D}, replace, []Record{rA, rB2, rC, rD}},
		{"replace/not applied+foreign", [][]byte{A, B, C, D, F}, replace, []Record{rA, rB2, rC, rD, rF}},
		{"replace/file emptied", nil, replace, nil},
		{"replace/file emptied and refilled", [][]byte{F, G}, replace, []Record{rF, rG}},

		{"append/not extended", [][]byte{A, B, C, D}, appendN, []Record{rA, rB, rC, rD, rN}},
		{"append/extended", [][]byte{A, B, C, D, zero}, appendN, []Record{rA, rB, rC, rD, rN}},
		{"append/torn", [][]byte{A, B, C, D, torn(N, zero)}, appendN, []Record{rA, rB, rC, rD, rN}},
		{"append/applied", [][]byte{A, B, C, D, N}, appendN, []Record{rA, rB, rC, rD, rN}},
		{"append/not extended+foreign", [][]byte{A, B, C, D, F}, appendN, []Record{rA, rB, rC, rD, rF, rN}},
		{"append/extended+foreign", [][]byte{A, B, C, D, zero, F}, appendN, []Record{rA, rB, rC, rD, rN, rF}},
		{"append/applied+foreign", [][]byte{A, B, C, D, N, F}, appendN, []Record{rA, rB, rC, rD, rN, rF}},
		{"append/partial tail", [][]byte{A, B, C, D, F[:1000]}, appendN, []Record{rA, rB, rC, rD, rN}},
		{"append/file emptied", nil, appendN, nil},
		{"append/file emptied+foreign", [][]byte{F}, appendN, []Record{rF}},

		{"delete/not applied", [][]byte{A, B, C, D}, delMid, []Record{rA, rD, rC}},
		{"delete/torn move", [][]byte{A, torn(D, B), C, D}, delMid, []Record{rA, rD, rC}},
		{"delete/moved", [][]byte{A, D, C, D}, delMid, []Record{rA, rD, rC}},
		{"delete/truncated", [][]byte{A, D, C}, delMid, []Record{rA, rD, rC}},
		{"delete/not applied+foreign", [][]byte{A, B, C, D, F}, delMid, []Record{rA, rD, rC, rF}},
		{"delete/moved+foreign", [][]byte{A, D, C, D, F}, delMid, []Record{rA, rD, rC, rF}},
		{"delete/moved+2 foreign", [][]byte{A, D, C, D, F, G}, delMid, []Record{rA, rD, rC, rG, rF}},
		{"delete/truncated+foreign", [][]byte{A, D, C, F}, delMid, []Record{rA, rD, rC, rF}},
		{"delete/truncated+2 foreign", [][]byte{A, D, C, F, G}, delMid, []Record{rA, rD, rC, rF, rG}},
		{"delete/file emptied and refilled", [][]byte{F, G}, delMid, []Record{rF, rG}},
		{"delete/file emptied and refilled to old size", [][]byte{F, G, A, D}, delMid, []Record{rF, rG, rA, rD}},

		{"delete last/not applied", [][]byte{A, B, C, D}, delLast, []Record{rA, rB, rC}},
		{"delete last/not applied+foreign", [][]byte{A, B, C, D, F}, delLast, []Record{rA, rB, rC, rF}},
		{"delete last/not applied+2 foreign", [][]byte{A, B, C, D, F, G}, delLast, []Record{rA, rB, rC, rG, rF}},
		{"delete last/truncated", [][]byte{A, B, C}, delLast, []Record{rA, rB, rC}},
		{"delete last/truncated+foreign", [][]byte{A, B, C, F}, delLast, []Record{rA, rB, rC, rF}},

		{"invalid/bad crc", [][]byte{A, B, C, D}, badCRC, []Record{rA, rB, rC, rD}},
		{"invalid/short", [][]byte{A, B, C, D}, replace[:1000], []Record{rA, rB, rC, rD}},
		{"invalid/empty", [][]byte{A, B, C, D}, []byte{}, []Record{rA, rB, rC, rD}},
		{"invalid/other pool", [][]byte{A, B, C, D}, otherPool, []Record{rA, rB, rC, rD}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".kvp_pool_1")
			writePoolFile(t, path, tt.file...)
			if err := os.WriteFile(path+".journal", tt.journal, 0o600); err != nil {
				t.Fatal(err)
			}
			p := openTestPool(t, dir, 1)
			checkRecovered(t, path)
			// Exact order where the scheme defines it.
			if d := diffRecords(tt.want, mustRecords(t, p)); d != "" {
				t.Fatal(d)
			}
			if size := fileSize(t, path); size != int64(len(tt.want))*2560 {
				t.Fatalf("size %d, want %d records", size, len(tt.want))
			}
		})
	}
}

type injectedCrash struct{}

// runUntilCrash runs op with p's hook panicking at the k-th crash point,
// which leaves the files as a crash there would, and reports whether it
// got that far.
func runUntilCrash(p *Pool, k int, op func(*Pool) error) (crashed bool, err error) {
	calls := 0
	p.hook = func(string) {
		if calls++; calls == k {
			panic(injectedCrash{})
		}
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(injectedCrash); !ok {
				panic(r)
			}
			crashed = true
		}
	}()
	return false, op(p)
}

// TestRecoverInjected crashes each kind of update at each of its crash
// points, optionally lets a foreign writer append, optionally crashes the
// recovery too, and checks that recovery completes the update.
func TestRecoverInjected(t *testing.T) {
	base := []Record{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}
	dupBase := []Record{{"a", "1"}, {"b", "2"}, {"a", "shadowed"}, {"c", "3"}}
	foreign := Record{"CLOUD_INIT|f", "foreign"}
	set := func(k, v string) func(*Pool) error { return func(p *Pool) error { return p.Set(k, v) } }
	del := func(k string) func(*Pool) error {
		return func(p *Pool) error { _, err := p.Delete(k); return err }
	}
	scenarios := []struct {
		name string
		base []Record
		op   func(*Pool) error
		ok   [][]Record // acceptable outcomes
	}{
		{"replace", base, set("b", "two"), [][]Record{{{"a", "1"}, {"b", "two"}, {"c", "3"}, {"d", "4"}}}},
		{"append", base, set("e", "5"), [][]Record{append(slices.Clone(base), Record{"e", "5"})}},
		{"delete middle", base, del("b"), [][]Record{{{"a", "1"}, {"c", "3"}, {"d", "4"}}}},
		{"delete last", base, del("d"), [][]Record{{{"a", "1"}, {"b", "2"}, {"c", "3"}}}},
		{"set over duplicates", dupBase, set("a", "x"), [][]Record{
			{{"a", "x"}, {"b", "2"}, {"a", "shadowed"}, {"c", "3"}},
			{{"a", "x"}, {"b", "2"}, {"c", "3"}},
		}},
	}
	runs := 0
	for _, sc := range scenarios {
		var parts [][]byte
		for _, r := range sc.base {
			parts = append(parts, rawRecord(r.Key, r.Value))
		}
		// Count the crash points of an undisturbed run.
		dir := t.TempDir()
		writePoolFile(t, filepath.Join(dir, ".kvp_pool_1"), parts...)
		points := 0
		p := openTestPool(t, dir, 1)
		p.hook = func(string) { points++ }
		if err := sc.op(p); err != nil {
			t.Fatal(err)
		}
		for k := 1; k <= points; k++ {
			for _, withForeign := range []bool{false, true} {
				for k2 := 0; k2 <= 3; k2++ {
					name := fmt.Sprintf("%s/crash %d/foreign %v/recovery crash %d", sc.name, k, withForeign, k2)
					runs++
					dir := t.TempDir()
					path := filepath.Join(dir, ".kvp_pool_1")
					writePoolFile(t, path, parts...)
					p1, p2 := openTestPool(t, dir, 1), openTestPool(t, dir, 1)
					if crashed, err := runUntilCrash(p1, k, sc.op); !crashed || err != nil {
						t.Fatalf("%s: crashed %v, err %v", name, crashed, err)
					}
					p1.Close()
					if withForeign {
						f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
						f.Write(rawRecord(foreign.Key, foreign.Value))
						f.Close()
					}
					if k2 > 0 {
						// p2 finds the journal on its next operation.
						if _, err := runUntilCrash(p2, k2, func(p *Pool) error { _, err := p.Len(); return err }); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
					}
					p2.Close()
					p3 := openTestPool(t, dir, 1)
					checkRecovered(t, path)
					got := sortedRecords(mustRecords(t, p3))
					match := false
					// Every crash point follows the journal write: the
					// update must always be completed.
					for _, want := range sc.ok {
						if withForeign {
							want = append(slices.Clone(want), foreign)
						}
						match = match || slices.Equal(got, sortedRecords(want))
					}
					if !match {
						t.Fatalf("%s: unexpected outcome %v", name, got)
					}
				}
			}
		}
	}
	t.Logf("%d crash runs", runs)
}

// FuzzPoolJournal: decoding never panics, and what decodes encodes back to
// the same bytes.
func FuzzPoolJournal(f *testing.F) {
	for _, kind := range []journalKind{kindReplace, kindAppend, kindDelete, 0, 9} {
		j := &journal{kind: kind, slot: 1, oldSize: 2 * 2560}
		if kind == kindAppend {
			j.slot = 2
		}
		copy(j.rec[:], rawRecord("key", "value"))
		f.Add(j.marshal(1))
	}
	f.Add([]byte("HVKVPJNL"))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, ok := unmarshalJournal(b, 1)
		if !ok {
			return
		}
		if !bytes.Equal(j.marshal(1), b) {
			t.Fatal("journal does not round-trip")
		}
	})
}

// FuzzPoolFile: any file content opens; whole records are read, a trailing
// partial record is ignored, and an append leaves the whole records alone
// and the file a whole number of records.
func FuzzPoolFile(f *testing.F) {
	for _, name := range []string{"cloudinit.pool", "cdaemon.pool", "lenient.pool"} {
		b, err := os.ReadFile(filepath.Join("testdata/compat", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 2560))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, ".kvp_pool_0")
		writePoolFile(t, path, b)
		p := openTestPool(t, dir, 0)
		recs := mustRecords(t, p)
		whole := len(b) / 2560 * 2560
		if len(recs) != whole/2560 {
			t.Fatalf("%d records from %d bytes", len(recs), len(b))
		}
		key := "fuzz-key-not-in-any-seed"
		if _, ok, _ := p.Get(key); ok {
			return
		}
		if err := p.Set(key, "v"); err != nil {
			t.Fatal(err)
		}
		now, _ := os.ReadFile(path)
		if len(now) != whole+2560 || !bytes.Equal(now[:whole], b[:whole]) {
			t.Fatal("append changed whole records or left a partial one")
		}
	})
}
