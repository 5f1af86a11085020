package netinfo

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// linuxTree reads a Linux system's configuration and run-time state
// under root ("/" on the running system, a directory a test made
// otherwise) and records every path it looked at with what stat(2) said
// of it, so that a result computed from them can be kept until one of
// them changes (valid). Paths are given as on the system ("/run/...")
// and joined with root. A missing or unreadable file reads as absent:
// the sources are optional, and their absence is recorded too, so a
// file that appears later invalidates the result.
type linuxTree struct {
	root string
	deps []treeDep
}

// treeDep is one path looked at (on this machine, root joined): its signature, or ok false if stat
// failed. A directory's signature moves when an entry is added, removed
// or renamed (its mtime), which is what a listing depends on.
type treeDep struct {
	path string
	sig  fileSig
	ok   bool
}

func newLinuxTree(root string) *linuxTree {
	if root == "" {
		root = "/"
	}
	return &linuxTree{root: root}
}

// join maps a path of the system into the tree.
func (t *linuxTree) join(p string) string { return filepath.Join(t.root, p) }

// note records the current signature of full, a path on this machine,
// and reports whether it exists.
func (t *linuxTree) note(full string) bool {
	sig, err := statSig(full)
	t.deps = append(t.deps, treeDep{path: full, sig: sig, ok: err == nil})
	return err == nil
}

// read returns the content of the file at p, or false if it cannot be
// read.
func (t *linuxTree) read(p string) ([]byte, bool) { return t.readHost(t.join(p)) }

// readHost is read of a path on this machine, outside the root: a file
// named by a flag, such as --kvp.resolv-conf. The signature is taken
// before the read, so a change racing the read shows at the next
// validation.
func (t *linuxTree) readHost(full string) ([]byte, bool) {
	if !t.note(full) {
		return nil, false
	}
	b, err := os.ReadFile(full)
	return b, err == nil
}

// exists reports whether something is at p.
func (t *linuxTree) exists(p string) bool { return t.note(t.join(p)) }

// list returns the names in directory dir, sorted; none if it cannot be
// read.
func (t *linuxTree) list(dir string) []string {
	if !t.note(t.join(dir)) {
		return nil
	}
	ents, err := os.ReadDir(t.join(dir))
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// glob returns the paths of the system matching pattern (filepath.Match
// syntax in the last element only, as ifupdown's source lines use it),
// sorted.
func (t *linuxTree) glob(pattern string) []string {
	dir, base := filepath.Split(pattern)
	var out []string
	for _, n := range t.list(filepath.Clean(dir)) {
		if ok, err := filepath.Match(base, n); err == nil && ok {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}

// treeDeps is what a result was computed from.
type treeDeps struct {
	deps []treeDep
	racy bool // a path changed too recently to trust its signature
}

// snapshot returns the paths t looked at, to validate later.
func (t *linuxTree) snapshot() treeDeps {
	d := treeDeps{deps: slices.Clone(t.deps)}
	now := time.Now()
	for _, dep := range d.deps {
		if dep.ok && dep.sig.racy(now) {
			d.racy = true
		}
	}
	return d
}

// valid reports whether every path is as it was when d was taken: one
// stat(2) per path, no reads.
func (d treeDeps) valid() bool {
	if d.racy || d.deps == nil {
		return false
	}
	for _, dep := range d.deps {
		sig, err := statSig(dep.path)
		if (err == nil) != dep.ok || dep.ok && sig != dep.sig {
			return false
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}
