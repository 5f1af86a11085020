package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// Host SETs to pools 0 and 3 land in the files and survive a restart.
func TestE2EPersistAcrossRestart(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{}, func(t *testing.T, e *env) {
		e.start()
		params := kvptest.DefaultParams("e2e-vm")
		if err := e.host.PushOnConnect(ctxT(t), params, []kvp.KeyValue{{Key: "AdminItem", Value: "from the host"}}); err != nil {
			t.Fatalf("push: %v\n%s", err, e.stderr)
		}
		e.stop()

		files := readPoolFile(t, filepath.Join(e.poolDir(), ".kvp_pool_3"))
		for _, p := range params {
			if files[p.Key] != p.Value {
				t.Errorf("pool 3 file: %s = %q, want %q", p.Key, files[p.Key], p.Value)
			}
		}
		if got := readPoolFile(t, filepath.Join(e.poolDir(), ".kvp_pool_0"))["AdminItem"]; got != "from the host" {
			t.Errorf("pool 0 file: AdminItem = %q", got)
		}

		e.start()
		v, st, err := e.host.Get(ctxT(t), kvp.PoolAutoExternal, "VirtualMachineName")
		if err != nil || st != kvp.StatusOK || v != "e2e-vm" {
			t.Fatalf("after restart GET VirtualMachineName = %q, %v, %v", v, st, err)
		}
		items, st, err := e.host.Enumerate(ctxT(t), kvp.PoolAutoExternal)
		if err != nil || st != kvp.StatusCont || len(items) != len(params) {
			t.Fatalf("after restart ENUMERATE pool 3: %d items, %v, %v; want %d, HV_S_CONT", len(items), st, err, len(params))
		}
		e.stop()
	})
}

// Every operation on every pool answers as hvagent(8) says (KVP POOLS,
// REPLY STATUS).
func TestE2EOperations(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{}, func(t *testing.T, e *env) {
		e.start()
		ctx := ctxT(t)
		for _, pool := range []uint8{0, 1, 3, 4} {
			e.mustSet(pool, "k1", fmt.Sprintf("v1-%d", pool))
			e.mustSet(pool, "k2", "v2")
			e.mustSet(pool, "k1", "replaced") // replaces, does not append
		}
		raw := func(op kvp.Op, pool uint8, index uint32, key string) kvp.Msg {
			t.Helper()
			m, err := e.kernel.Do(ctx, kvp.Msg{Op: op, Pool: pool, Index: index, KV: kvp.KeyValue{Key: key}})
			if err != nil {
				t.Fatalf("%v pool %d: %v", op, pool, err)
			}
			return m
		}
		tests := []struct {
			name       string
			op         kvp.Op
			pool       uint8
			index      uint32
			key        string
			wantStatus kvp.Status
			wantValue  string
			wantKey    string
		}{
			{"get existing", kvp.OpGet, 1, 0, "k1", kvp.StatusOK, "replaced", ""},
			{"get missing", kvp.OpGet, 1, 0, "nope", kvp.StatusCont, "", ""},
			{"get auto item", kvp.OpGet, 2, 0, "OSName", kvp.StatusOK, osName(t, e), ""},
			{"get unknown auto item", kvp.OpGet, 2, 0, "NoSuchItem", kvp.StatusCont, "", ""},
			{"enumerate pool 0 first", kvp.OpEnumerate, 0, 0, "", kvp.StatusOK, "replaced", "k1"},
			{"enumerate pool 4 second", kvp.OpEnumerate, 4, 1, "", kvp.StatusOK, "v2", "k2"},
			{"enumerate past end", kvp.OpEnumerate, 3, 2, "", kvp.StatusCont, "", ""},
			{"enumerate far past end", kvp.OpEnumerate, 3, 1 << 31, "", kvp.StatusCont, "", ""},
			{"enumerate auto 0", kvp.OpEnumerate, 2, 0, "", kvp.StatusOK, "", "FullyQualifiedDomainName"},
			{"enumerate auto 5", kvp.OpEnumerate, 2, 5, "", kvp.StatusOK, osName(t, e), "OSName"},
			{"enumerate auto 9", kvp.OpEnumerate, 2, 9, "", kvp.StatusOK, "", "ProcessorArchitecture"},
			{"enumerate auto 10", kvp.OpEnumerate, 2, 10, "", kvp.StatusCont, "", ""},
			{"set auto refused", kvp.OpSet, 2, 0, "OSName", kvp.StatusFail, "", ""},
			{"delete auto refused", kvp.OpDelete, 2, 0, "OSName", kvp.StatusFail, "", ""},
			{"delete missing", kvp.OpDelete, 1, 0, "nope", kvp.StatusCont, "", ""},
			{"delete existing", kvp.OpDelete, 1, 0, "k2", kvp.StatusOK, "", ""},
			{"get deleted", kvp.OpGet, 1, 0, "k2", kvp.StatusCont, "", ""},
			{"unknown pool", kvp.OpGet, 5, 0, "k1", kvp.StatusFail, "", ""},
			{"unknown pool 255", kvp.OpEnumerate, 255, 0, "", kvp.StatusFail, "", ""},
			{"unknown operation 6", kvp.Op(6), 0, 0, "", kvp.StatusNotSupported, "", ""},
			{"unknown operation 200", kvp.Op(200), 0, 0, "", kvp.StatusNotSupported, "", ""},
			{"get ip info, adapter id not a MAC", kvp.OpGetIPInfo, 0, 0, "", kvp.StatusFail, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := raw(tt.op, tt.pool, tt.index, tt.key)
				if m.Status != tt.wantStatus {
					t.Fatalf("status = %v, want %v", m.Status, tt.wantStatus)
				}
				if tt.wantValue != "" && m.KV.Value != tt.wantValue {
					t.Errorf("value = %q, want %q", m.KV.Value, tt.wantValue)
				}
				if tt.wantKey != "" && m.KV.Key != tt.wantKey {
					t.Errorf("key = %q, want %q", m.KV.Key, tt.wantKey)
				}
			})
		}
		auto, st, err := e.host.Enumerate(ctx, kvp.PoolAuto)
		if err != nil || st != kvp.StatusCont || len(auto) != 10 {
			t.Fatalf("enumerate auto pool: %d items, %v, %v", len(auto), st, err)
		}
		for _, it := range auto {
			if it.Key == "IntegrationServicesVersion" && it.Value == "" {
				t.Error("IntegrationServicesVersion is empty")
			}
			// A Linux guest reports the version its kernel answers
			// REGISTER1 with (drivers/hv/hv_kvp.c, HV_DRV_VERSION).
			if it.Key == "IntegrationServicesVersion" && e.kernel.Protocol() == kvp.Linux && it.Value != kvp.LinuxDriverVersion {
				t.Errorf("IntegrationServicesVersion = %q on Linux, want %q", it.Value, kvp.LinuxDriverVersion)
			}
			if it.Key == "NetworkAddressIPv4" && (strings.Contains(it.Value, "127.0.0.1") || strings.HasSuffix(it.Value, ";")) {
				t.Errorf("NetworkAddressIPv4 = %q: loopback or trailing separator", it.Value)
			}
		}
		if st := e.kernel.Stats(); st.Timeouts != 0 {
			t.Errorf("kernel saw %d timeouts", st.Timeouts)
		}
		e.stop()
	})
}

// osName is the OSName the agent reports in e's protocol: uname's
// sysname for FreeBSD's, os-release's NAME for Linux's (the C daemon's
// kvp_get_os_info), read here independently of the agent.
func osName(t *testing.T, e *env) string {
	t.Helper()
	if e.kernel.Protocol() == kvp.Linux {
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "NAME="); ok {
					return strings.Trim(v, `"'`)
				}
			}
			break
		}
	}
	if runtime.GOOS == "freebsd" {
		return "FreeBSD"
	}
	return "Linux"
}

// Malformed messages get an error status (HV_E_FAIL for a message of the
// wrong size: the kernel waits for a reply to every message it hands
// over), are logged once per class, and the agent keeps serving.
func TestE2EMalformed(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{Timeout: 2 * time.Second}, func(t *testing.T, e *env) {
		e.start()
		ctx := ctxT(t)
		good, err := e.kernel.Protocol().EncodeRequest(kvp.Msg{Op: kvp.OpSet, Pool: 1, KV: kvp.KeyValue{Key: "key", Value: "value"}})
		if err != nil {
			t.Fatal(err)
		}
		mutate := func(f func(b []byte)) []byte {
			b := bytes.Clone(good)
			f(b)
			return b
		}
		tests := []struct {
			name string
			msg  []byte
			want kvp.Status
		}{
			{"too short", good[:1000], kvp.StatusFail},
			{"too long", append(bytes.Clone(good), make([]byte, 100)...), kvp.StatusFail},
			{"key without NUL", mutate(func(b []byte) { copy(b[16:528], bytes.Repeat([]byte{'A'}, 512)) }), kvp.StatusInvalidArg},
			{"key_size past field", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 100000) }), kvp.StatusInvalidArg},
			{"value_size past field", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 4096) }), kvp.StatusInvalidArg},
			{"invalid UTF-8", mutate(func(b []byte) { b[16], b[17] = 0xc3, 0x28 }), kvp.StatusInvalidArg},
			{"pool 5", mutate(func(b []byte) { b[1] = 5 }), kvp.StatusFail},
			{"operation 6", mutate(func(b []byte) { b[0] = 6 }), kvp.StatusNotSupported},
			{"empty key", mutate(func(b []byte) { b[16] = 0 }), kvp.StatusInvalidArg},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for range 2 { // twice: the second must not be logged at warning level again
					reply, err := e.kernel.DoRaw(ctx, tt.msg)
					if err != nil {
						t.Fatalf("no reply: %v\n%s", err, e.stderr)
					}
					if st := kvp.Status(binary.LittleEndian.Uint32(reply)); st != tt.want {
						t.Fatalf("status = %v, want %v", st, tt.want)
					}
				}
				// Still serving.
				e.mustSet(1, "alive", tt.name)
			})
		}
		log := e.stderr.String()
		for _, msg := range []string{"message of wrong size; answered HV_E_FAIL", "malformed request", "unknown operation", "unknown pool"} {
			if n := strings.Count(log, "level=WARN msg=\""+msg+"\""); n < 1 || (msg != "malformed request" && n != 1) {
				t.Errorf("warning %q logged %d times, want once per class\n%s", msg, n, log)
			}
		}
		e.stop()
	})
}

// A real scrape passes promlint and carries the families hvagent(8)
// lists under METRICS.
func TestE2EMetrics(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{}, func(t *testing.T, e *env) {
		e.listen = freePort(t)
		e.start()
		e.mustSet(1, "k", "v")
		if _, _, err := e.host.Enumerate(ctxT(t), kvp.PoolAuto); err != nil {
			t.Fatal(err)
		}
		// GET_IP_INFO names an adapter, not a pool: its series has an empty
		// pool label (absent once Prometheus stores it), whatever byte 1 holds.
		if _, _, err := e.host.GetIPInfo(ctxT(t), "00:15:5d:ff:ff:ff"); err != nil {
			t.Fatal(err)
		}
		body := scrape(t, "http://"+e.listen+"/metrics")
		problems, err := promlint.New(strings.NewReader(body)).Lint()
		if err != nil {
			t.Fatalf("promlint: %v", err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
		for _, want := range []string{
			`hvagent_build_info{`,
			`hvagent_subsystem_up{subsystem="kvp"} 1`,
			`hvagent_subsystem_restarts_total{subsystem="kvp"} 0`,
			`hvagent_kvp_requests_total{operation="set",pool="guest",result="ok"} 1`,
			`hvagent_kvp_requests_total{operation="enumerate",pool="auto",result="ok"} 10`,
			`hvagent_kvp_requests_total{operation="enumerate",pool="auto",result="cont"} 1`,
			`hvagent_kvp_requests_total{operation="get_ip_info",pool="",result="fail"} 1`,
			`hvagent_kvp_request_duration_seconds_bucket{operation="set"`,
			`hvagent_kvp_pool_records{pool="guest"} 1`,
			`hvagent_kvp_pool_records{pool="auto"} 10`,
			`hvagent_kvp_set_ip_rejected_total{reason="address"} 0`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("scrape lacks %s", want)
			}
		}
		if strings.Contains(body, `subsystem="vss"`) {
			t.Error("a subsystem disabled with --disable has series; an up==0 alert would fire for it")
		}
		if landing := scrape(t, "http://"+e.listen+"/"); !strings.Contains(landing, "/metrics") {
			t.Errorf("landing page does not link /metrics:\n%s", landing)
		}
		e.stop()
	})
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	var lastErr error
	for range 100 {
		resp, err := http.Get(url)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			lastErr = fmt.Errorf("status %d, %v", resp.StatusCode, err)
		} else {
			lastErr = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("scrape %s: %v", url, lastErr)
	return ""
}

// A second agent finds the device busy and says so, while the first
// keeps serving.
func TestE2ESecondAgentRejected(t *testing.T) {
	forEachProtocol(t, kvptest.KernelOptions{}, func(t *testing.T, e *env) {
		e.start()
		second := newEnvSharing(t, e)
		second.startNoWait()
		// Wait for the refusal rather than a fixed time: a loaded machine
		// can take seconds to start the second agent.
		deadline := time.Now().Add(60 * time.Second)
		for e.kernel.Stats().Rejected == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if e.kernel.Stats().Rejected == 0 {
			t.Error("the simulated kernel rejected no second connection")
		}
		e.mustSet(1, "first", "still serving")
		second.kill()
		e.stop()
	})
}

// newEnvSharing returns an env using e's kernel and a pool dir of its own.
func newEnvSharing(t *testing.T, e *env) *env {
	dir := t.TempDir()
	return &env{t: t, dir: dir, kernel: e.kernel, host: e.host}
}
