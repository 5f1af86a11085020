package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// appenderEnv switches the test binary into a cloud-init-like appender:
// it appends records to a pool file under flock(LOCK_EX), as cloud-init's
// HyperVKvpReportingHandler does, without any of hvagent's code.
const appenderEnv = "HVAGENT_TEST_APPENDER"

func appenderMain() int {
	path := os.Getenv(appenderEnv)
	n, _ := strconv.Atoi(os.Getenv("HVAGENT_TEST_APPEND_COUNT"))
	for i := range n {
		rec := make([]byte, 2560)
		copy(rec[:511], fmt.Sprintf("CLOUD_INIT|%d", i))
		copy(rec[512:2559], fmt.Sprintf("event %d", i))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := f.Write(rec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
	return 0
}

// A separate process appending under flock while the host sets, deletes
// and enumerates the same pool loses no record.
func TestE2EConcurrentAppender(t *testing.T) {
	e := newEnv(t, kvptest.KernelOptions{})
	e.start()
	const appends = 300
	app := exec.Command(os.Args[0], "-test.run=^$")
	app.Env = append(os.Environ(), appenderEnv+"="+filepath.Join(e.poolDir(), ".kvp_pool_1"),
		"HVAGENT_TEST_APPEND_COUNT="+strconv.Itoa(appends))
	app.Stderr = os.Stderr
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Wait() }()
	ctx := ctxT(t)
	want := map[string]string{}
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("appender: %v", err)
			}
			goto check
		default:
		}
		key := fmt.Sprintf("host-%d", i%40)
		if i%7 == 3 {
			if st, err := e.host.Delete(ctx, kvp.PoolGuest, key); err != nil || (st != kvp.StatusOK && st != kvp.StatusCont) {
				t.Fatalf("DELETE: %v %v", st, err)
			}
			delete(want, key)
		} else {
			e.mustSet(kvp.PoolGuest, key, fmt.Sprint(i))
			want[key] = fmt.Sprint(i)
		}
		if i%25 == 0 {
			if _, st, err := e.host.Enumerate(ctx, kvp.PoolGuest); err != nil || st != kvp.StatusCont {
				t.Fatalf("ENUMERATE: %v %v", st, err)
			}
		}
	}
check:
	items, st, err := e.host.Enumerate(ctx, kvp.PoolGuest)
	if err != nil || st != kvp.StatusCont {
		t.Fatalf("final ENUMERATE: %v %v", st, err)
	}
	got := map[string]string{}
	for _, it := range items {
		got[it.Key] = it.Value
	}
	for i := range appends {
		if got[fmt.Sprintf("CLOUD_INIT|%d", i)] != fmt.Sprintf("event %d", i) {
			t.Errorf("appended record CLOUD_INIT|%d lost", i)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("host key %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != appends+len(want) {
		t.Errorf("pool has %d records, want %d", len(got), appends+len(want))
	}
	e.stop()
}

// SIGKILL at random points during hundreds of host updates leaves every
// pool file whole: after the restart every acknowledged update is there,
// and the one in flight is either fully old or fully new.
func TestE2ESIGKILLDuringUpdates(t *testing.T) {
	e := newEnv(t, kvptest.KernelOptions{Timeout: 2 * time.Second})
	ctx := ctxT(t)
	acked := map[string]string{} // key -> value the host got HV_S_OK for
	const rounds = 8
	total := 0
	for round := range rounds {
		e.start()
		// The kill is armed after a random number of updates, not after a
		// wall-clock delay, so a slow machine still proves as much as a
		// fast one; the small random delay lands it inside some request.
		killAfter := 15 + rand.IntN(60)
		var timer *time.Timer
		var inflightKey, inflightVal string
		for i := 0; i < 500; i++ {
			if i == killAfter {
				timer = time.AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, func() { _ = e.cmd.Process.Kill() })
			}
			key := fmt.Sprintf("k%d", rand.IntN(30))
			val := fmt.Sprintf("r%d-%d-%s", round, i, strings.Repeat("x", rand.IntN(1500)))
			var st kvp.Status
			var err error
			// Each request gets its own deadline: once the agent is dead,
			// the simulated kernel holds the next request until a daemon
			// registers, and none will until this loop ends.
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if rand.IntN(5) == 0 {
				inflightKey, inflightVal = key, ""
				st, err = e.host.Delete(rctx, kvp.PoolExternal, key)
				cancel()
				if err == nil && (st == kvp.StatusOK || st == kvp.StatusCont) {
					delete(acked, key)
					total++
					continue
				}
			} else {
				inflightKey, inflightVal = key, val
				st, err = e.host.Set(rctx, kvp.PoolExternal, key, val)
				cancel()
				if err == nil && st == kvp.StatusOK {
					acked[key] = val
					total++
					continue
				}
			}
			break // the agent died under this request
		}
		if timer != nil {
			timer.Stop()
		}
		e.kill()
		// The file as the crash left it, before any recovery: whole records.
		path := filepath.Join(e.poolDir(), ".kvp_pool_0")
		if fi, err := os.Stat(path); err == nil && fi.Size()%2560 != 0 {
			t.Fatalf("round %d: pool file size %d after SIGKILL", round, fi.Size())
		}
		// Restart (recovery) and compare with what the host was told.
		e.start()
		items, st, err := e.host.Enumerate(ctx, kvp.PoolExternal)
		if err != nil || st != kvp.StatusCont {
			t.Fatalf("round %d: ENUMERATE: %v %v", round, st, err)
		}
		got := map[string]string{}
		for _, it := range items {
			if _, dup := got[it.Key]; dup {
				t.Fatalf("round %d: key %s appears twice", round, it.Key)
			}
			got[it.Key] = it.Value
		}
		for k, v := range acked {
			if got[k] != v && k != inflightKey {
				t.Fatalf("round %d: acknowledged %s lost: got %.20q want %.20q", round, k, got[k], v)
			}
		}
		if v, ok := got[inflightKey]; ok && v != acked[inflightKey] && v != inflightVal {
			t.Fatalf("round %d: in-flight key %s holds neither old nor new value", round, inflightKey)
		}
		// Adopt the recovered state as the new baseline.
		acked = got
		e.kill()
	}
	t.Logf("%d acknowledged updates over %d SIGKILLs", total, rounds)
	if total < 100 {
		t.Errorf("only %d updates happened; the test proved little", total)
	}
}
