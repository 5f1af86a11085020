package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// TestMeasure runs a short measurement against the real agent on each
// protocol and checks that every figure was taken. It judges no figure:
// they depend on the machine. The Linux protocol has no VF simulator.
func TestMeasure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent")
	}
	for _, tt := range []struct {
		proto      kvp.Protocol
		subsystems string
	}{
		{kvp.FreeBSD, "kvp,vss,vf"},
		{kvp.Linux, "kvp,vss"},
	} {
		t.Run(tt.proto.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o := options{duration: 2 * time.Second, warmup: 500 * time.Millisecond, sample: 500 * time.Millisecond,
				rate: 100, vfRate: 4, vssRate: 3, protocol: tt.proto}
			r, err := measure(ctx, o, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if r.ready <= 0 || r.metricsUp <= 0 || r.rssAtStart <= 0 || r.requests == 0 || len(r.rss) < 2 || r.rss[0] <= 0 || len(r.heap) != len(r.rss) {
				t.Errorf("missing figures: %+v", r)
			}
			if r.failed > 0 {
				t.Errorf("%d of %d host requests failed: %v", r.failed, r.requests, r.problems)
			}
			if got := strings.Join(r.subsystems, ","); got != tt.subsystems {
				t.Errorf("subsystems = %v, want %s: the ones with a simulator", r.subsystems, tt.subsystems)
			}
			// Every subsystem under load got requests; every KVP request
			// and VSS operation was answered and counted, the same number
			// on both sides; the VF went away and came back at least once.
			for _, sub := range r.subsystems {
				if r.perSubsystem[sub] == 0 {
					t.Errorf("no requests to %s: %v", sub, r.perSubsystem)
				}
			}
			if got, sent := r.counted["hvagent_kvp_requests_total"], r.perSubsystem["kvp"]; got != float64(sent) {
				t.Errorf("the agent counted %v KVP requests, the host sent %d", got, sent)
			}
			if got, sent := r.counted["hvagent_vss_operations_total"], r.perSubsystem["vss"]; got != float64(sent) {
				t.Errorf("the agent counted %v VSS operations, the host sent %d", got, sent)
			}
			if slices.Contains(r.subsystems, "vf") && r.counted["hvagent_vf_transitions_total"] < 1 {
				t.Errorf("the agent counted no VF transitions: %v", r.counted)
			}
			var out bytes.Buffer
			r.print(&out)
			wants := []string{"hvload: " + tt.proto.String() + " protocol", "start to ready", "CPU per request",
				"resident memory", "growth over the run", "the agent counted"}
			if r.procAtStart != nil {
				// Linux: what top shows, and the anonymous part.
				if r.procAtStart["VmRSS"] <= 0 || r.procAtStart["RssAnon"] <= 0 || r.procAtStart["RssAnon"] > r.procAtStart["VmRSS"] {
					t.Errorf("memory once ready: %v", r.procAtStart)
				}
				wants = append(wants, "as top shows it (VmRSS)", "anonymous (RssAnon)")
			}
			for _, want := range wants {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}
			t.Logf("\n%s", out.String())
		})
	}
}

func TestGrowth(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 0},
		{[]float64{1, 9, 1, 9}, 0},
		{[]float64{1, 2, 3, 10, 11, 12}, 9},
	} {
		if got := growth(tt.xs); got != tt.want {
			t.Errorf("growth(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}
