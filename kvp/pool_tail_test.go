//go:build linux || freebsd

package kvp

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tailCopies returns the contents of the torn-tail copies beside the
// pool file at path.
func tailCopies(t *testing.T, path string) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(path + ".tail.*")
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string][]byte{}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		copies[name] = b
	}
	return copies
}

// TestPoolTornTailKept: a pool file that is not a whole number of records
// keeps its partial record while nothing drops it; an append or a delete,
// which drop it, first copy it beside the pool file, byte for byte, and
// log where. ReadPool says where the whole records end.
func TestPoolTornTailKept(t *testing.T) {
	tail := make([]byte, 2320) // 10,000 bytes: three records and this
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range tail {
		tail[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name    string
		update  func(p *Pool) error
		dropped bool
	}{
		{"replace keeps the tail in place", func(p *Pool) error { return p.Set("b", "changed") }, false},
		{"append", func(p *Pool) error { return p.Set("d", "4") }, true},
		{"delete", func(p *Pool) error { _, err := p.Delete("a"); return err }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".kvp_pool_1")
			writePoolFile(t, path, rawRecord("a", "1"), rawRecord("b", "2"), rawRecord("c", "3"), tail)

			s, err := ReadPool(dir, 1)
			if err != nil {
				t.Fatal(err)
			}
			if s.Path != path || s.Size != 10000 || s.End != 3*2560 || len(s.Records) != 3 {
				t.Fatalf("ReadPool: path %s, size %d, end %d, %d records; want %s, 10000, 7680, 3",
					s.Path, s.Size, s.End, len(s.Records), path)
			}

			var log bytes.Buffer
			p := openTestPool(t, dir, 1)
			p.SetLogger(slog.New(slog.NewTextHandler(&log, nil)))
			if err := tc.update(p); err != nil {
				t.Fatal(err)
			}
			copies := tailCopies(t, path)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.dropped {
				if len(copies) != 0 || log.Len() != 0 || !bytes.HasSuffix(b, tail) {
					t.Fatalf("a replace copied the tail (%d copies, log %q) or lost it (size %d)", len(copies), log.String(), len(b))
				}
				return
			}
			if len(b)%2560 != 0 {
				t.Fatalf("pool file of %d bytes after the update, want whole records", len(b))
			}
			if len(copies) != 1 {
				t.Fatalf("%d copies of the tail beside the pool, want 1", len(copies))
			}
			for name, got := range copies {
				if !bytes.Equal(got, tail) {
					t.Errorf("%s holds %d bytes, not the 2320 of the tail", name, len(got))
				}
				if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode(), err)
				}
				for _, want := range []string{"level=WARN", "partial record", "copy=" + name, "size=10000", "records_end=7680"} {
					if !strings.Contains(log.String(), want) {
						t.Errorf("log lacks %q: %s", want, log.String())
					}
				}
			}
			// The next update finds whole records and copies nothing more.
			if err := p.Set("e", "5"); err != nil {
				t.Fatal(err)
			}
			if n := len(tailCopies(t, path)); n != 1 {
				t.Errorf("%d copies after a second update, want still 1", n)
			}
		})
	}
}
