//go:build linux || freebsd

package kvp

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/fstrust"
)

// outsideFile creates a file outside any pool directory that a crafted
// pool directory tries to make the agent write, and returns a check that
// it is unchanged.
func outsideFile(t *testing.T) (path string, unchanged func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "precious")
	content := bytes.Repeat([]byte("root's file "), 500) // more than a record
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	return path, func() {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatalf("outside file: %v", err)
		}
		b, _ := os.ReadFile(path)
		if !bytes.Equal(b, content) || fi.Mode() != 0o644 || !fi.ModTime().Equal(old) {
			t.Fatalf("outside file changed: %d bytes, mode %v, mtime %v", len(b), fi.Mode(), fi.ModTime())
		}
	}
}

func TestPoolRefusesSymlinks(t *testing.T) {
	t.Run("pool file", func(t *testing.T) {
		target, unchanged := outsideFile(t)
		dir := t.TempDir()
		if err := os.Symlink(target, filepath.Join(dir, ".kvp_pool_1")); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenPool(dir, 1); !errors.Is(err, fstrust.ErrSymlink) {
			t.Fatalf("OpenPool over a link: %v, want %v", err, fstrust.ErrSymlink)
		}
		if _, err := ReadPool(dir, 1); !errors.Is(err, fstrust.ErrSymlink) {
			t.Fatalf("ReadPool over a link: %v, want %v", err, fstrust.ErrSymlink)
		}
		unchanged()
	})
	t.Run("pool file replaced by a link", func(t *testing.T) {
		target, unchanged := outsideFile(t)
		dir := t.TempDir()
		p := openTestPool(t, dir, 1)
		if err := p.Set("k", "v"); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(link, p.Path()); err != nil {
			t.Fatal(err)
		}
		if err := p.Set("k", "w"); !errors.Is(err, fstrust.ErrSymlink) {
			t.Fatalf("Set after the file became a link: %v, want %v", err, fstrust.ErrSymlink)
		}
		unchanged()
	})
	t.Run("journal temporary", func(t *testing.T) {
		target, unchanged := outsideFile(t)
		dir := t.TempDir()
		p := openTestPool(t, dir, 1)
		tmp := p.jpath + ".tmp"
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := p.Set("k", "v"); err != nil {
			t.Fatalf("Set with a link at the temporary's name: %v", err)
		}
		unchanged()
		if _, err := os.Lstat(tmp); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("temporary left: %v", err)
		}
		if v, _, _ := p.Get("k"); v != "v" {
			t.Fatalf("Get = %q", v)
		}
	})
}

func TestPoolDirectoryTrust(t *testing.T) {
	mk := func(t *testing.T, path string, mode fs.FileMode) string {
		t.Helper()
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) (dir, offender string)
	}{
		{"group-writable pool directory", func(t *testing.T) (string, string) {
			d := mk(t, filepath.Join(t.TempDir(), "pool"), 0o770)
			return d, d
		}},
		{"world-writable pool directory", func(t *testing.T) (string, string) {
			d := mk(t, filepath.Join(t.TempDir(), "pool"), 0o777)
			return d, d
		}},
		{"group-writable parent", func(t *testing.T) (string, string) {
			parent := mk(t, filepath.Join(t.TempDir(), "hyperv"), 0o775)
			return mk(t, filepath.Join(parent, "pool"), 0o700), parent
		}},
		{"missing directory under a group-writable parent", func(t *testing.T) (string, string) {
			parent := mk(t, filepath.Join(t.TempDir(), "hyperv"), 0o775)
			return filepath.Join(parent, "pool"), parent
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, offender := tt.setup(t)
			_, errOpen := OpenPool(dir, 1)
			_, errStore := OpenStore(dir)
			_, errRead := ReadPool(dir, 1)
			for _, err := range []error{errOpen, errStore, errRead} {
				if !errors.Is(err, fstrust.ErrUntrusted) || !strings.Contains(err.Error(), "chmod go-w "+offender) {
					t.Errorf("error %v; want it to name %s and the fix", err, offender)
				}
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Errorf("%s: %d entries created in an untrusted directory", dir, len(ents))
			}
		})
	}
}

// captureLog returns a logger whose records land in the returned buffer.
func captureLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// TestJournalRefused plants journals that are not the agent's: links to
// ../ and absolute paths, a journal of another pool, garbage, a FIFO.
// None is replayed or followed; each is kept aside and logged, and the
// pool is used as it is.
func TestJournalRefused(t *testing.T) {
	A, B := rawRecord("a", "1"), rawRecord("b", "2")
	valid := func(pool int) []byte {
		j := &journal{kind: kindReplace, slot: 0, oldSize: 2 * recordSize}
		copy(j.rec[:], rawRecord("a", "overwritten"))
		return j.marshal(pool)
	}
	tests := []struct {
		name   string
		plant  func(t *testing.T, jpath, target string)
		reason string
	}{
		{"link to ../", func(t *testing.T, jpath, target string) {
			rel, err := filepath.Rel(filepath.Dir(jpath), target)
			if err != nil || !strings.HasPrefix(rel, "../") {
				t.Fatalf("relative target %q, %v", rel, err)
			}
			if err := os.Symlink(rel, jpath); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"link to an absolute path", func(t *testing.T, jpath, target string) {
			if err := os.Symlink(target, jpath); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"journal of another pool", func(t *testing.T, jpath, target string) {
			if err := os.WriteFile(jpath, valid(3), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "names pool 3"},
		{"path-like garbage", func(t *testing.T, jpath, target string) {
			if err := os.WriteFile(jpath, []byte("../../"+target+"\x00/etc/master.passwd"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "bytes"},
		{"FIFO", func(t *testing.T, jpath, target string) {
			if err := syscall.Mkfifo(jpath, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, unchanged := outsideFile(t)
			dir := t.TempDir()
			path := filepath.Join(dir, ".kvp_pool_1")
			writePoolFile(t, path, A, B)
			jpath := path + ".journal"
			tt.plant(t, jpath, target)
			want := []Record{{"a", "1"}, {"b", "2"}}

			s, err := ReadPool(dir, 1)
			if err != nil || s.Invalid == nil || s.Pending || !strings.Contains(s.Invalid.Error(), tt.reason) {
				t.Fatalf("ReadPool = %+v, %v; want the journal reported invalid (%s)", s, err, tt.reason)
			}
			if d := diffRecords(want, s.Records); d != "" {
				t.Fatal(d)
			}
			if _, err := os.Lstat(jpath); err != nil {
				t.Fatalf("ReadPool moved the journal: %v", err)
			}

			p := openTestPool(t, dir, 1)
			if d := diffRecords(want, mustRecords(t, p)); d != "" {
				t.Fatal(d)
			}
			unchanged()
			if _, err := os.Lstat(jpath); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("journal still in place: %v", err)
			}
			aside, _ := filepath.Glob(jpath + ".rejected.*")
			if len(aside) != 1 {
				t.Fatalf("journals kept aside: %q, want one", aside)
			}
			log, buf := captureLog()
			p.SetLogger(log)
			if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, aside[0]) || !strings.Contains(out, tt.reason) {
				t.Fatalf("log %q lacks a warning naming %s and why", out, aside[0])
			}
			// The pool works on.
			if err := p.Set("c", "3"); err != nil {
				t.Fatal(err)
			}
			unchanged()
		})
	}
}

// dirState is every name in a directory with its mode, size, mtime and
// content, to show that a reader changed nothing.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	add := func(path string) {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		if fi.Mode().IsRegular() {
			b, _ = os.ReadFile(path)
		}
		state[path] = fi.Mode().String() + " " + fi.ModTime().Format(time.RFC3339Nano) + " " + string(b)
	}
	add(dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		add(filepath.Join(dir, e.Name()))
	}
	return state
}

// TestReadPoolChangesNothing reads a directory left by an older daemon
// (loose modes), with a pending journal, an invalid one and a missing
// pool, and checks that nothing in it changed, and that the pending
// update shows as the next writer completes it.
func TestReadPoolChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	A, B, C := rawRecord("a", "1"), rawRecord("b", "2"), rawRecord("c", "3")
	for n, recs := range map[int][][]byte{0: {A}, 1: {A, B, C}, 3: {A, B}} {
		path := filepath.Join(dir, ".kvp_pool_"+string(rune('0'+n)))
		writePoolFile(t, path, recs...)
		os.Chmod(path, 0o644)
	}
	// Pool 1: a delete of "a" that crashed before it was applied.
	j := &journal{kind: kindDelete, slot: 0, oldSize: 3 * recordSize}
	copy(j.rec[:], C)
	copy(j.old[:], A)
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_1.journal"), j.marshal(1), 0o644); err != nil {
		t.Fatal(err)
	}
	// Pool 3: a journal of pool 0.
	if err := os.WriteFile(filepath.Join(dir, ".kvp_pool_3.journal"), j.marshal(0), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_200_000_000, 0)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.Chtimes(filepath.Join(dir, e.Name()), old, old)
	}
	os.Chtimes(dir, old, old)
	before := dirState(t, dir)

	var snaps [NumPools]Snapshot
	for n := range NumPools {
		s, err := ReadPool(dir, n)
		if err != nil {
			t.Fatalf("ReadPool(%d): %v", n, err)
		}
		snaps[n] = s
	}
	after := dirState(t, dir)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed:\n\t%.80q\n\t%.80q", k, v, after[k])
		}
	}
	if len(after) != len(before) {
		t.Errorf("entries: %d before, %d after", len(before), len(after))
	}
	if !snaps[1].Pending || snaps[1].Invalid != nil || snaps[3].Invalid == nil || snaps[0].Pending || len(snaps[2].Records) != 0 {
		t.Errorf("snapshots: %+v", snaps)
	}
	// What the reader showed is what the next writer leaves.
	for n := range NumPools {
		p := openTestPool(t, dir, n)
		if d := diffRecords(mustRecords(t, p), snaps[n].Records); d != "" {
			t.Errorf("pool %d: %s", n, d)
		}
	}
	if got := snaps[1].Records; !slices.Equal(got, []Record{{"c", "3"}, {"b", "2"}}) {
		t.Errorf("pending delete shown as %v", got)
	}
}

func TestPoolMaxRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".kvp_pool_1")
	// Written by another program: more records than the cap.
	writePoolFile(t, path, rawRecord("a", "1"), rawRecord("b", "2"), rawRecord("c", "3"))
	p := openTestPool(t, dir, 1)
	before, _ := os.ReadFile(path)
	if err := p.SetMax("d", "4", 3); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("SetMax beyond the cap: %v, want %v", err, ErrPoolFull)
	}
	if err := p.SetMax("e", "5", 2); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("SetMax above the cap: %v, want %v", err, ErrPoolFull)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, before) {
		t.Fatal("a refused SetMax changed the file")
	}
	if err := p.SetMax("b", "two", 2); err != nil {
		t.Fatalf("replace in a full pool: %v", err)
	}
	if _, err := p.Delete("c"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMax("d", "4", 3); err != nil {
		t.Fatalf("SetMax below the cap: %v", err)
	}
	want := []Record{{"a", "1"}, {"b", "two"}, {"d", "4"}}
	if d := diffRecords(want, mustRecords(t, p)); d != "" {
		t.Fatal(d)
	}
}
