package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The README's first command, in its scripted form: the host receives the
// ten auto-pool items, the pushed items land in the pool files, /metrics
// answers, and the agent stops cleanly.
func TestDemoOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	if err := run(ctx, options{once: true, listen: addr, every: time.Second}, &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	got := out.String()
	wants := []string{
		"host: enumerated pool 2 (auto): 10 items, ended with HV_S_CONT",
		"IntegrationServicesVersion",
		"host: pushed 11 items into pool 3 (auto_external)",
		"auto_external  VirtualMachineName",
		"external       BackupWindow",
		`hvagent_subsystem_up{subsystem="kvp"} 1`,
		"host: servicing: removed VF mce0 from hn0",
		`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"} 1`,
		`hvagent_vf_degraded_duration_seconds_count{hn="hn0"} 1`,
		"hvagent stopped cleanly",
		"host: backup cycle: CHECK ok",
		"THAW ok",
		"demo hook called with 'freeze'",
		`hvagent_vss_operations_total{operation="freeze",result="success"} 1`,
	}
	if macs := machineMACs(); len(macs) > 0 {
		// The host asked about this machine's real adapter and got its
		// real addresses back.
		wants = append(wants, "host: GET_IP_INFO "+macs[0]+": HV_S_OK", "addresses")
	}
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", got)
	}
}
