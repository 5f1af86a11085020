package gotool

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeGo makes dir/go an executable file and returns its path.
func fakeGo(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "go")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPath(t *testing.T) {
	onPath := t.TempDir()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	pathGo := fakeGo(t, onPath)
	rootGo := fakeGo(t, filepath.Join(root, "bin"))

	for _, tt := range []struct {
		name, path, goroot, want string
	}{
		{"PATH first", onPath, root, pathGo},
		{"GOROOT when PATH has none", empty, root, rootGo},
		{"neither", empty, empty, ""},
		{"no GOROOT", empty, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			t.Setenv("GOROOT", tt.goroot)
			got, err := Path()
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Path() = %q, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Path() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// Under go test the real go command is found.
func TestPathFindsGo(t *testing.T) {
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("Path() = %q, which is not a file: %v", p, err)
	}
}
