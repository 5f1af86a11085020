package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// TestMain lets the test binary serve as the echo peer process, as the
// command does.
func TestMain(m *testing.M) {
	if echoChild() {
		return
	}
	os.Exit(m.Run())
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {90, 9}, {100, 10}, {0, 1}} {
		if got, err := percentile(ds, tc.p); err != nil || got != tc.want {
			t.Errorf("p%v = %v, %v; want %v", tc.p, got, err, tc.want)
		}
	}
	if _, err := percentile(nil, 50); err == nil {
		t.Error("percentile of no samples: no error")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{10: "10", 1024: "1,024", 4096: "4,096", 1000000: "1,000,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestRun builds the agent and measures a small pool for a round on each
// protocol: every request it times got the reply it expected, the series
// alternate as round says, and the table shows them.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent")
	}
	for _, p := range []kvp.Protocol{kvp.FreeBSD, kvp.Linux} {
		t.Run(p.String(), func(t *testing.T) {
			// 3 records: walks of 4 steps, 2 of them for 5 steps a round.
			o := options{records: []int{3}, rounds: 2, gets: 5, steps: 5, protocol: p}
			rs, err := run(context.Background(), o, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			r := rs[0]
			if len(r.floor) != 32 || len(r.threadFloor) != 10 || len(r.get) != 16 || len(r.enumerate) != 16 || r.enumerations != 4 {
				t.Fatalf("samples: %d + %d echoes, %d GETs, %d steps in %d walks; want 32 + 10, 16, 16 in 4",
					len(r.floor), len(r.threadFloor), len(r.get), len(r.enumerate), r.enumerations)
			}
			var out bytes.Buffer
			printTable(&out, o, rs)
			for _, want := range []string{"| echo floor (peer process) |", "| hvagent, GET |", "| hvagent, enumerate step |", "× floor", p.String() + " protocol"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestIPInfo builds the agent, runs it in a network namespace of its own
// and times a few GET_IP_INFO requests: each got the adapter's three
// addresses, its gateway and resolv.conf's servers. It needs root.
func TestIPInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent")
	}
	for _, p := range []kvp.Protocol{kvp.FreeBSD, kvp.Linux} {
		t.Run(p.String(), func(t *testing.T) {
			r, err := runIPInfo(context.Background(), options{ipinfo: 5, protocol: p}, io.Discard)
			if errors.Is(err, errNeedRoot) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := kvp.IPInfo{
				AddrFamily: 3, IPAddr: "192.0.2.10;198.51.100.10;2001:db8::10", SubNet: "255.255.255.0;255.255.255.128;/64",
				Gateway: "192.0.2.1", DNSAddr: "192.0.2.53;2001:db8::53",
			}
			r.info.AdapterID = ""
			if len(r.times) != 5 || r.info != want {
				t.Fatalf("%d samples, reply %+v; want 5, %+v", len(r.times), r.info, want)
			}
			var out bytes.Buffer
			printIPInfo(&out, r)
			if !strings.Contains(out.String(), "GET_IP_INFO end to end") {
				t.Errorf("report: %s", out.String())
			}
		})
	}
}
