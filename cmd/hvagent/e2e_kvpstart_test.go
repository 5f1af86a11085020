package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// waitLog waits until the agent's log contains s.
func (e *env) waitLog(s string) {
	e.t.Helper()
	for range 400 {
		if strings.Contains(e.stderr.String(), s) {
			return
		}
		select {
		case <-e.exited:
			e.t.Fatalf("agent exited (%v) before logging %q\nagent log:\n%s", e.waitErr, s, e.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.t.Fatalf("agent did not log %q\nagent log:\n%s", s, e.stderr)
}

// requireDisabledKVP fails unless the log has a "subsystem disabled" line
// besides those of --disable (which come first and must not be taken for
// it).
func (e *env) requireDisabledKVP() {
	e.t.Helper()
	log := e.stderr.String()
	if strings.Count(log, "subsystem disabled") <= strings.Count(log, "subsystem disabled by --disable") {
		e.t.Errorf("KVP not reported disabled:\n%s", log)
	}
}

// A pool directory the agent cannot use disables KVP alone: the daemon
// keeps running and serving metrics instead of exiting 1 into a restart
// loop under daemon(8) -r.
func TestE2EBadPoolDirDisablesKVPOnly(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{}, func(t *testing.T, e *env) {
		e.listen = freePort(t)
		if err := os.WriteFile(e.poolDir(), nil, 0o600); err != nil { // a file, not a directory
			t.Fatal(err)
		}
		e.startNoWait()
		e.waitLog("not a directory") // why, in the line that disables KVP
		e.requireDisabledKVP()
		body := scrape(t, "http://"+e.listen+"/metrics")
		if strings.Contains(body, `hvagent_subsystem_up{subsystem="kvp"}`) {
			t.Errorf("a subsystem disabled for good keeps an up series:\n%s", body)
		}
		if strings.Contains(body, "hvagent_kvp_pool_records{") {
			t.Errorf("pool records exported without pools:\n%s", body)
		}
		if e.kernel.Registered() {
			t.Error("registered with the kernel without pools to serve")
		}
		e.stop()
	})
}

// Without the device the agent neither creates the pool directory nor
// waits for the host-name lookup. FreeBSD's missing device disables KVP;
// Linux's node appears only once the host offers the service, so on
// Linux the agent waits for it (on other systems the Linux device cannot
// exist: disabled).
func TestE2ENoDeviceOpensNoPools(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{}, func(t *testing.T, e *env) {
		e.startNoWait("--kvp.device", filepath.Join(e.dir, "no-such-device"))
		if e.kernel.Protocol() == kvp.Linux && runtime.GOOS == "linux" {
			e.waitLog("KVP device not there yet; waiting")
		} else {
			e.waitLog("no such file or directory")
			e.requireDisabledKVP()
		}
		if _, err := os.Stat(e.poolDir()); !os.IsNotExist(err) {
			t.Errorf("pool directory touched without a device: %v", err)
		}
		e.stop()
	})
}
