//go:build linux || freebsd

package kvp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// unservableService serves a guest pool that another writer filled with
// good records and records a Linux kernel cannot convert: invalid UTF-8
// in a key or a value, and fields without their NUL.
func unservableService(t *testing.T, p Protocol) *Service {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	noNULKey := make([]byte, recordSize)
	copy(noNULKey, bytes.Repeat([]byte{'k'}, MaxKeySize)) // the key fills its field
	noNULValue := make([]byte, recordSize)
	copy(noNULValue, "full-value")
	copy(noNULValue[MaxKeySize:], bytes.Repeat([]byte{'v'}, MaxValueSize))
	var file []byte
	for _, rec := range [][]byte{
		rawRecord("bad-value", "caf\xe9"), // Latin-1, not UTF-8
		rawRecord("good-0", "zero"),
		rawRecord("bad-\xff-key", "v"),
		noNULKey,
		rawRecord("good-1", "one"),
		noNULValue,
		rawRecord("good-2", "two ünïcode"),
	} {
		file = append(file, rec...)
	}
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_1"), file, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return NewService(ServiceConfig{Store: store, Facts: Facts{Version: "0.1.0"}, Metrics: NewMetrics(prometheus.NewRegistry()), Protocol: p})
}

// On Linux a record the kernel cannot pass on (hv_kvp.c's
// utf8s_to_utf16s fails, and any error ends the host's walk) is never
// returned: ENUMERATE walks past it to the end, GET of it is HV_E_FAIL.
// Every string returned is valid UTF-8 and NUL-terminated in its field.
// FreeBSD's answers are as before.
func TestLinuxUnservableRecords(t *testing.T) {
	t.Run("linux", func(t *testing.T) {
		svc := unservableService(t, Linux)
		var keys []string
		for i := uint32(0); ; i++ {
			m := handleProto(t, svc, Linux, Msg{Op: OpEnumerate, Pool: PoolGuest, Index: i})
			if m.Status != StatusOK {
				if m.Status != StatusCont {
					t.Fatalf("index %d: %v, want HV_S_OK or HV_S_CONT: the walk ends early", i, m.Status)
				}
				break
			}
			keys = append(keys, m.KV.Key+"="+m.KV.Value)
		}
		if want := []string{"good-0=zero", "good-1=one", "good-2=two ünïcode"}; strings.Join(keys, ",") != strings.Join(want, ",") {
			t.Errorf("enumerated %q, want %q", keys, want)
		}
		for key, want := range map[string]Status{"bad-value": StatusFail, "good-1": StatusOK, "full-value": StatusFail} {
			if m := handleProto(t, svc, Linux, Msg{Op: OpGet, Pool: PoolGuest, KV: KeyValue{Key: key}}); m.Status != want {
				t.Errorf("GET %q: %v, want %v", key, m.Status, want)
			}
		}
		// A host SET still works, and the walk sees the new record.
		if m := handleProto(t, svc, Linux, Msg{Op: OpSet, Pool: PoolGuest, KV: KeyValue{Key: "good-3", Value: "three"}}); m.Status != StatusOK {
			t.Fatalf("SET: %v", m.Status)
		}
		if m := handleProto(t, svc, Linux, Msg{Op: OpEnumerate, Pool: PoolGuest, Index: 3}); m.Status != StatusOK || m.KV.Key != "good-3" {
			t.Errorf("index 3 after SET: %v %q, want good-3", m.Status, m.KV.Key)
		}
	})
	t.Run("freebsd unchanged", func(t *testing.T) {
		svc := unservableService(t, FreeBSD)
		reply := svc.HandleInto(make([]byte, MsgSize), mustEncode(t, Msg{Op: OpEnumerate, Pool: PoolGuest, Index: 0}))
		key, _, _ := bytes.Cut(reply[offKey+enumOff:], []byte{0})
		if st := statusOf(reply); st != StatusOK || string(key) != "bad-value" {
			t.Errorf("FreeBSD index 0: %v %q, want the first record, as before", st, key)
		}
	})
}

// handleProto answers m through HandleInto in p and decodes the reply
// where p's kernel reads it; DecodeReply fails on a string that is not
// valid UTF-8 or not NUL-terminated in its field.
func handleProto(t *testing.T, svc *Service, p Protocol, m Msg) Msg {
	t.Helper()
	reply := svc.HandleInto(make([]byte, p.MsgSize()), mustEncodeProto(t, p, m))
	got, err := p.DecodeReply(reply, m.Op)
	if err != nil {
		t.Fatalf("%v %q: reply does not decode: %v", m.Op, m.KV.Key, err)
	}
	return got
}

// Pool 2 as a Linux guest reports it (tools/hv/hv_kvp_daemon.c,
// kvp_get_os_info), from an os-release under a root the test makes.
func TestLinuxFacts(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	osRelease := "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian \\\"GNU\\\"/Linux\"\nVERSION_ID='12'\nID=debian\n"
	if err := os.WriteFile(filepath.Join(root, "etc/os-release"), []byte(osRelease), 0o644); err != nil {
		t.Fatal(err)
	}
	f := GatherLinuxFacts(context.Background(), root, func(context.Context) string { return "vm.example\xff.com" })
	f.OSRelease, f.Machine = "6.1.0-28-amd64", "x86_64" // uname's, fixed for the test
	want := map[string]string{
		"FullyQualifiedDomainName":   "vm.example\uFFFD.com", // made valid UTF-8
		"IntegrationServicesVersion": "3.1",
		"OSName":                     `Debian "GNU"/Linux`,
		"OSMajorVersion":             "12",
		"OSMinorVersion":             "",
		"OSVersion":                  "6.1.0",
		"OSBuildNumber":              "6.1.0-28-amd64",
		"ProcessorArchitecture":      "x86_64",
	}
	for key, w := range want {
		if got, ok := f.autoValue(key, nil); !ok || got != w {
			t.Errorf("%s = %q, want %q", key, got, w)
		}
	}

	// Without os-release (and /usr/lib/os-release), uname's sysname.
	bare := GatherLinuxFacts(context.Background(), t.TempDir(), func(context.Context) string { return "h" })
	if name, _, _, _ := Uname(); bare.OSName != name || bare.VersionID != "" {
		t.Errorf("no os-release: OSName %q, VERSION_ID %q; want %q and empty", bare.OSName, bare.VersionID, name)
	}
	// FreeBSD's values are unchanged by the Linux rules.
	fb := Facts{OSName: "FreeBSD", OSRelease: "14.2-RELEASE-p1"}
	for key, w := range map[string]string{"OSVersion": "14.2-RELEASE-p1", "OSBuildNumber": "14.2", "OSMajorVersion": "14", "OSMinorVersion": "2"} {
		if got, _ := fb.autoValue(key, nil); got != w {
			t.Errorf("FreeBSD %s = %q, want %q", key, got, w)
		}
	}
}

func TestFieldSafe(t *testing.T) {
	long := strings.Repeat("é", MaxValueSize) // 2 bytes each
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\xffb", "a\uFFFDb"},
		{long, long[:MaxValueSize-2]}, // cut at a character boundary, room for the NUL
	} {
		if got := fieldSafe(tt.in, MaxValueSize); got != tt.want {
			t.Errorf("fieldSafe(%.20q...) = %.20q... (%d bytes), want %d bytes", tt.in, got, len(got), len(tt.want))
		}
	}
}
