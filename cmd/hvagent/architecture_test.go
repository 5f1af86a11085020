package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// ARCHITECTURE.md walks requests through the code file by file; every
// path it names (in backquotes, with a slash) must exist, so the map
// cannot drift from the territory unnoticed.
func TestArchitectureNamesRealFiles(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths := regexp.MustCompile("`([a-z][a-zA-Z0-9_.*-]*(?:/[a-zA-Z0-9_.*-]+)+)`").FindAllSubmatch(doc, -1)
	if len(paths) < 50 {
		t.Fatalf("found only %d paths in ARCHITECTURE.md; has its format changed?", len(paths))
	}
	for _, m := range paths {
		p := string(m[1])
		matches, err := filepath.Glob(filepath.Join(root, p))
		if err != nil || len(matches) == 0 {
			t.Errorf("ARCHITECTURE.md names %s, which does not exist", p)
		}
	}
}
