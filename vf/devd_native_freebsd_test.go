//go:build freebsd

package vf

// A FreeBSD-native test of the devd client: the package's own dialer and
// record reader on devd's real seqpacket socket, and the package's parser
// on what the kernel reports for an epair(4) the test creates and
// destroys. It needs root, a running devd(8) and epair(4); without them it
// skips, except under CI=true (.github/workflows/freebsd.yml), where it
// fails.

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/nativetest"
)

// devdEvents collects the notifications read from devd, parsed by
// ParseEvent.
type devdEvents struct {
	ch chan Event
}

// waitFor waits up to d for a notification of system, subsystem and type.
func (d *devdEvents) waitFor(system, subsystem, typ string, within time.Duration) (Event, bool) {
	timeout := time.After(within)
	for {
		select {
		case e := <-d.ch:
			if e.System == system && e.Subsystem == subsystem && e.Type == typ {
				return e, true
			}
		case <-timeout:
			return Event{}, false
		}
	}
}

// want requires a notification of system, subsystem and type.
func (d *devdEvents) want(t *testing.T, system, subsystem, typ string) Event {
	t.Helper()
	e, ok := d.waitFor(system, subsystem, typ, 30*time.Second)
	if !ok {
		t.Fatalf("no %s %s %s notification from devd within 30 s", system, subsystem, typ)
	}
	return e
}

// createEpair makes an epair(4) and returns its two ends; cleanup
// destroys it unless the test did.
func createEpair(t *testing.T) (a, b string, destroyed *bool) {
	t.Helper()
	out, err := exec.Command("ifconfig", "epair", "create").CombinedOutput()
	nativetest.Need(t, err == nil, "no epair(4): ifconfig epair create: "+strings.TrimSpace(string(out)))
	a = strings.TrimSpace(string(out)) // epairNa; its peer is epairNb
	if !strings.HasPrefix(a, "epair") || !strings.HasSuffix(a, "a") {
		t.Fatalf("ifconfig epair create printed %q, want epairNa", a)
	}
	destroyed = new(bool)
	t.Cleanup(func() {
		if !*destroyed {
			_ = exec.Command("ifconfig", a, "destroy").Run()
		}
	})
	return a, strings.TrimSuffix(a, "a") + "b", destroyed
}

func TestNativeDevdIFNETEvents(t *testing.T) {
	nativetest.Need(t, os.Geteuid() == 0, "needs root to create an epair interface")
	_, err := exec.LookPath("ifconfig")
	nativetest.Need(t, err == nil, "ifconfig not found")
	_, err = os.Stat(DefaultDevdSocket)
	nativetest.Need(t, err == nil, "devd is not running: "+DefaultDevdSocket+" is missing")

	ctx, cancel := context.WithCancel(context.Background())
	c, err := dialDevd(ctx, DefaultDevdSocket)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	d := &devdEvents{ch: make(chan Event, 256)}
	done := make(chan error, 1)
	go func() {
		done <- readRecords(ctx, c, func(line []byte) {
			e, err := ParseEvent(line)
			if err != nil {
				return // attach/detach/nomatch lines of other devices
			}
			select {
			case d.ch <- e:
			default: // a burst of unrelated events; the test reads on
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done; c.Close() })

	// devd accepts a new client from its own loop, so events of the
	// first instants after connecting may go only to the clients it
	// already had. An epair whose ATTACH never arrives is destroyed and
	// another one made; once one arrives, the connection is live.
	//
	// if_attach posts "!system=IFNET subsystem=<if> type=ATTACH" for both
	// ends (sys/net/if.c, if_attach_internal: devctl_notify("IFNET", ...)),
	// and if_detach "type=DETACH".
	var a, b string
	var destroyed *bool
	var e Event
	for attempt := 1; ; attempt++ {
		a, b, destroyed = createEpair(t)
		var ok bool
		if e, ok = d.waitFor("IFNET", a, "ATTACH", 5*time.Second); ok {
			break
		}
		if attempt == 5 {
			t.Fatalf("no IFNET ATTACH from devd for %d epairs in a row", attempt)
		}
		_ = exec.Command("ifconfig", a, "destroy").Run()
		*destroyed = true
	}
	if e.Data != nil {
		t.Errorf("IFNET ATTACH of %s carries data %v, want none", a, e.Data)
	}
	d.want(t, "IFNET", b, "ATTACH")

	if out, err := exec.Command("ifconfig", a, "destroy").CombinedOutput(); err != nil {
		t.Fatalf("ifconfig %s destroy: %v\n%s", a, err, out)
	}
	*destroyed = true
	d.want(t, "IFNET", a, "DETACH")
	d.want(t, "IFNET", b, "DETACH")

	select {
	case err := <-done:
		t.Fatalf("devd connection ended early: %v", err)
	default:
	}
}
