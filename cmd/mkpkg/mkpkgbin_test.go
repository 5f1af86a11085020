package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The Linux package tests build a dozen .deb and .rpm files. nfpm
// compresses them with xz in Go, which under the race detector takes
// several times as long as in a normal build; so most of them are made
// by mkpkg built as "make package" builds it, once per test binary, and
// one build per test run still goes through run in this process, where
// the race detector sees it (TestLinuxPackages compares the two).
var mkpkgBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mkpkgBinary.dir != "" {
		os.RemoveAll(mkpkgBinary.dir)
	}
	os.Exit(code)
}

// mkpkgBin returns the path of mkpkg built from this tree.
func mkpkgBin(t *testing.T) string {
	t.Helper()
	b := &mkpkgBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "mkpkg-bin"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "mkpkg")
		build := exec.Command("go", "build", "-o", b.path, "./cmd/mkpkg")
		build.Dir = root
		b.out, b.err = build.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build ./cmd/mkpkg: %v\n%s", b.err, b.out)
	}
	return b.path
}
