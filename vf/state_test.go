package vf

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestTracker(t *testing.T) (*Tracker, *Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	return NewTracker(m, slog.New(slog.DiscardHandler)), m, reg
}

func TestTrackerWindows(t *testing.T) {
	tr, m, reg := newTestTracker(t)
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		o     Observation
		dir   string
		state State
	}{
		{Observation{HN: "hn0", VF: "mce0", Datapath: true, At: t0}, "", OnVF},                              // first sight: no transition
		{Observation{HN: "hn0", At: t0.Add(10 * time.Second)}, DirToSynthetic, NoVF},                        // host servicing
		{Observation{HN: "hn0", VF: "mlxen0", At: t0.Add(40 * time.Second)}, "", VFAttached},                // a new driver's VF
		{Observation{HN: "hn0", VF: "mlxen0", Datapath: true, At: t0.Add(42 * time.Second)}, DirToVF, OnVF}, // 32 s window
		{Observation{HN: "hn0", VF: "mlxen0", Datapath: true, At: t0.Add(43 * time.Second)}, "", OnVF},
		{Observation{HN: "hn0", At: t0.Add(50 * time.Second)}, DirToSynthetic, NoVF},
		{Observation{HN: "hn0", VF: "mlxen0", Datapath: true, At: t0.Add(45 * time.Second)}, DirToVF, OnVF}, // out of order: 0 s
	}
	for i, s := range steps {
		if got := tr.Observe(s.o); got != s.dir {
			t.Errorf("step %d: direction %q, want %q", i, got, s.dir)
		}
		if got := tr.State("hn0"); got != s.state {
			t.Errorf("step %d: state %v, want %v", i, got, s.state)
		}
	}
	if got := testutil.ToFloat64(m.Transitions.WithLabelValues("hn0", DirToSynthetic)); got != 2 {
		t.Errorf("to_synthetic = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.LastTransition.WithLabelValues("hn0")); got != float64(t0.Unix()+50) {
		t.Errorf("last transition = %v, want t0+50 (time never runs backwards)", got)
	}
	if got := testutil.ToFloat64(m.Info.WithLabelValues("hn0", "mlxen0", "non_transparent")); got != 1 {
		t.Errorf("info for mlxen0 = %v", got)
	}
	if n := testutil.CollectAndCount(m.Info); n != 1 {
		t.Errorf("%d info series, want 1: the old VF's must go", n)
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
	if c, s := histCountSum(t, reg); c != 2 || s != 32 {
		t.Errorf("degraded windows: count %v sum %v, want 2 and 32", c, s)
	}
}

func histCountSum(t *testing.T, reg *prometheus.Registry) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "hvagent_vf_degraded_duration_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

func TestBucket(t *testing.T) {
	b := newBucket(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if !b.take(t0) {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if b.take(t0.Add(59 * time.Second)) {
		t.Error("token granted before the interval")
	}
	if w := b.wait(t0.Add(59 * time.Second)); w != time.Second {
		t.Errorf("wait = %v, want 1s", w)
	}
	if !b.take(t0.Add(60 * time.Second)) {
		t.Error("token refused after the interval")
	}
	if b.take(t0.Add(30 * time.Second)) {
		t.Error("time running backwards granted a token")
	}
	// An hour refills the bucket up to its burst of 3, and no further.
	for i := range 3 {
		if !b.take(t0.Add(time.Hour)) {
			t.Errorf("token %d after an hour refused: refill not up to the burst", i)
		}
	}
	if b.take(t0.Add(time.Hour)) {
		t.Error("a fourth token after an hour: refill beyond the burst")
	}
}

// Every counter and histogram series of an hn exists at zero from its
// first observation, before anything happened: a failure counter born at
// 1 would be invisible to increase() and to HvagentVFLaggActionFailed.
func TestSeriesExistBeforeFirstEvent(t *testing.T) {
	tr, m, _ := newTestTracker(t)
	tr.Observe(Observation{HN: "hn0", At: time.Unix(1_800_000_000, 0)})
	for _, c := range []struct {
		name string
		col  prometheus.Collector
		want int
	}{
		{"lagg_actions_total", m.LaggActions, 2 * len(actionNames)},
		{"transitions_total", m.Transitions, 2},
		{"actions_held_back_total", m.HeldBack, 1},
		{"degraded_duration_seconds", m.Degraded, 1},
	} {
		if n := testutil.CollectAndCount(c.col); n != c.want {
			t.Errorf("%s: %d series after the first observation, want %d", c.name, n, c.want)
		}
	}
	for _, a := range actionNames {
		if v := testutil.ToFloat64(m.LaggActions.WithLabelValues("hn0", a, "failure")); v != 0 {
			t.Errorf("lagg_actions_total{action=%q,result=failure} = %v, want 0", a, v)
		}
	}
}

// logRec is one log record a recHandler kept.
type logRec struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

type recHandler struct{ recs *[]logRec }

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recHandler) WithGroup(string) slog.Handler            { return h }
func (h recHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	*h.recs = append(*h.recs, rec)
	return nil
}

func TestTrackerLogLevels(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	on := func(at time.Duration) Observation {
		return Observation{HN: "hn0", VF: "mce0", Datapath: true, At: t0.Add(at)}
	}
	off := func(at time.Duration) Observation { return Observation{HN: "hn0", At: t0.Add(at)} }
	attached := func(at time.Duration) Observation { return Observation{HN: "hn0", VF: "mce0", At: t0.Add(at)} }

	t.Run("servicing", func(t *testing.T) {
		var recs []logRec
		tr := NewTracker(NewMetrics(prometheus.NewRegistry()), slog.New(recHandler{&recs}))
		// Two servicing windows 40 s apart: every change at INFO, and
		// the return to the VF says how long it was gone.
		for _, o := range []Observation{on(0), off(10 * time.Second), attached(40 * time.Second), on(42 * time.Second),
			off(50 * time.Second), attached(70 * time.Second), on(71 * time.Second)} {
			tr.Observe(o)
		}
		var restored []string
		for _, r := range recs {
			if r.level != slog.LevelInfo {
				t.Errorf("%q at %v, want INFO", r.msg, r.level)
			}
			if r.msg == "VF state changed" && r.attrs["vf"] != "mce0" {
				// A removal names the VF that left; no empty vf="".
				t.Errorf("%q without the VF it is about: %v", r.msg, r.attrs)
			}
			if r.msg == "VF datapath restored" {
				if r.attrs["vf"] != "mce0" {
					t.Errorf("restored without the VF name: %v", r.attrs)
				}
				restored = append(restored, r.attrs["degraded_for"])
			}
		}
		if want := []string{"32s", "21s"}; !slices.Equal(restored, want) {
			t.Errorf("restored lines degraded_for %v, want %v", restored, want)
		}
	})

	t.Run("storm", func(t *testing.T) {
		var recs []logRec
		tr := NewTracker(NewMetrics(prometheus.NewRegistry()), slog.New(recHandler{&recs}))
		tr.Observe(on(0))
		// 20 flaps a second apart: 40 changes in 40 s.
		for i := range 20 {
			tr.Observe(off(time.Duration(2*i+1) * time.Second))
			tr.Observe(on(time.Duration(2*i+2) * time.Second))
		}
		changedInfo, changedDebug, restoredInfo, onsets := 0, 0, 0, 0
		for _, r := range recs {
			switch {
			case strings.HasPrefix(r.msg, "VF flap storm: further"):
				// Announced at INFO before the first change at DEBUG.
				if onsets++; r.level != slog.LevelInfo || changedDebug != 0 || r.attrs["changes"] != strconv.Itoa(stormChanges+1) {
					t.Errorf("storm announced as %+v after %d changes at DEBUG", r, changedDebug)
				}
			case r.msg == "VF state changed" && r.level == slog.LevelInfo:
				changedInfo++
			case r.msg == "VF state changed":
				changedDebug++
			case r.msg == "VF datapath restored" && r.level == slog.LevelInfo:
				restoredInfo++
			}
		}
		if changedInfo > stormChanges || changedDebug == 0 {
			t.Errorf("storm: %d changes at INFO, %d at DEBUG; want at most %d at INFO", changedInfo, changedDebug, stormChanges)
		}
		if onsets != 1 {
			t.Errorf("storm announced %d times, want once", onsets)
		}
		if restoredInfo != 20 {
			t.Errorf("%d returns to the VF at INFO, want all 20", restoredInfo)
		}
		// Quiet for two minutes, then one more removal: at INFO, after
		// a summary of what went to DEBUG.
		recs = recs[:0]
		tr.Observe(off(3 * time.Minute))
		if len(recs) != 2 || recs[0].level != slog.LevelInfo || recs[1].level != slog.LevelInfo ||
			recs[1].msg != "VF state changed" {
			t.Fatalf("after the storm: %+v, want a summary and the change at INFO", recs)
		}
		if got, want := recs[0].attrs["changes"], strconv.Itoa(changedDebug); got != want {
			t.Errorf("summary counts %s changes, want %s", got, want)
		}
	})
}
