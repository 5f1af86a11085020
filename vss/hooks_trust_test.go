//go:build linux || freebsd

package vss

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/fstrust"
)

// The hooks run as root, so the directories above the hooks directory are
// checked too: whoever can rename one can put another hooks directory in
// its place.
func TestHooksDirParentsChecked(t *testing.T) {
	tests := []struct {
		name       string
		parentMode fs.FileMode
		offender   bool // the parent is named in the error
	}{
		{"private parent", 0o755, false},
		{"group-writable parent", 0o775, true},
		{"world-writable parent", 0o777, true},
		{"root's sticky parent", 0o777 | fs.ModeSticky, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "etc")
			if err := os.Mkdir(parent, 0o700); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(parent, "vss.d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "10-db"), []byte("#!/bin/sh\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(parent, tt.parentMode); err != nil {
				t.Fatal(err)
			}
			h := &Hooks{Dir: dir, Log: slog.New(slog.DiscardHandler)}
			names, err := h.List()
			if !tt.offender {
				if err != nil || !slices.Equal(names, []string{"10-db"}) {
					t.Fatalf("List = %q, %v; want the hook", names, err)
				}
				return
			}
			if !errors.Is(err, fstrust.ErrUntrusted) || !strings.Contains(err.Error(), "chmod go-w "+parent) || names != nil {
				t.Fatalf("List = %q, %v; want no hook and an error naming %s and the fix", names, err, parent)
			}
		})
	}
}
