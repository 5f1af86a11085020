package pkgbuild

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"time"
)

// A File is one file of a package.
type File struct {
	Path string      // absolute install path: /usr/local/sbin/hvagent
	Mode fs.FileMode // permission bits
	Data []byte
}

// A Package is everything a .pkg file holds.
type Package struct {
	Manifest Manifest  // metadata; Files, Directories and Flatsize are computed
	Files    []File    // in archive order
	Dirs     []string  // absolute directories the package owns
	MTime    time.Time // modification time of every entry (reproducible builds)
}

// Sum returns pkg's checksum of file contents: "1$" and the hex SHA-256.
func Sum(data []byte) string {
	s := sha256.Sum256(data)
	return "1$" + hex.EncodeToString(s[:])
}

// manifest completes p.Manifest with the files, directories and flatsize.
func (p *Package) manifest() Manifest {
	m := p.Manifest
	m.Files = make(map[string]string, len(p.Files))
	m.Flatsize = 0
	for _, f := range p.Files {
		m.Files[f.Path] = Sum(f.Data)
		m.Flatsize += int64(len(f.Data))
	}
	m.Directories = make(map[string]string, len(p.Dirs))
	for _, d := range p.Dirs {
		m.Directories[d] = "y"
	}
	return m
}

// WriteTar writes the uncompressed package archive to w.
func (p *Package) WriteTar(w io.Writer) error {
	if err := p.check(); err != nil {
		return err
	}
	m := p.manifest()
	compact, err := m.Compact().Marshal()
	if err != nil {
		return err
	}
	full, err := m.Marshal()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	meta := []File{{Path: "+COMPACT_MANIFEST", Mode: 0o644, Data: compact}, {Path: "+MANIFEST", Mode: 0o644, Data: full}}
	for _, f := range meta {
		if err := p.writeEntry(tw, tar.TypeReg, f); err != nil {
			return err
		}
	}
	for _, d := range p.Dirs {
		if err := p.writeEntry(tw, tar.TypeDir, File{Path: d, Mode: 0o755}); err != nil {
			return err
		}
	}
	for _, f := range p.Files {
		if err := p.writeEntry(tw, tar.TypeReg, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (p *Package) writeEntry(tw *tar.Writer, typ byte, f File) error {
	hdr := &tar.Header{
		Typeflag: typ, Name: f.Path, Mode: int64(f.Mode.Perm() | f.Mode&fs.ModeSticky),
		Size: int64(len(f.Data)), Uname: "root", Gname: "wheel",
		ModTime: p.MTime.Truncate(time.Second), Format: tar.FormatPAX,
	}
	if typ == tar.TypeDir {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("pkgbuild: %s: %w", f.Path, err)
	}
	_, err := tw.Write(f.Data)
	return err
}

// check refuses packages pkg would refuse or mis-install: relative or
// unclean paths, duplicates, files outside a known directory tree.
func (p *Package) check() error {
	seen := map[string]bool{}
	names := slices.Clone(p.Dirs)
	for _, f := range p.Files {
		names = append(names, f.Path)
	}
	for _, name := range names {
		if !path.IsAbs(name) || path.Clean(name) != name || name == "/" {
			return fmt.Errorf("pkgbuild: %q is not a clean absolute path", name)
		}
		if seen[name] {
			return fmt.Errorf("pkgbuild: %q is in the package twice", name)
		}
		seen[name] = true
	}
	return nil
}

// Write writes the package to w, compressed by c.
func (p *Package) Write(w io.Writer, c Compressor) error {
	var buf bytes.Buffer
	if err := p.WriteTar(&buf); err != nil {
		return err
	}
	return c.Compress(w, &buf)
}

// ArchiveEntry is one entry of a package archive as read back.
type ArchiveEntry struct {
	Header *tar.Header
	Data   []byte
}

// Archive is a package read back: its entries in order and its manifests.
type Archive struct {
	Entries  []ArchiveEntry
	Manifest Manifest // +MANIFEST
	Compact  Manifest // +COMPACT_MANIFEST
}

// Read reads a package written by Write.
func Read(r io.Reader, c Compressor) (*Archive, error) {
	var raw bytes.Buffer
	if err := c.Decompress(&raw, r); err != nil {
		return nil, err
	}
	a := &Archive{}
	tr := tar.NewReader(&raw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pkgbuild: reading the archive: %w", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("pkgbuild: reading %s: %w", hdr.Name, err)
		}
		a.Entries = append(a.Entries, ArchiveEntry{Header: hdr, Data: data})
	}
	if len(a.Entries) < 2 || a.Entries[0].Header.Name != "+COMPACT_MANIFEST" || a.Entries[1].Header.Name != "+MANIFEST" {
		return nil, fmt.Errorf("pkgbuild: the archive does not start with +COMPACT_MANIFEST and +MANIFEST")
	}
	var err error
	if a.Compact, err = UnmarshalManifest(a.Entries[0].Data); err != nil {
		return nil, err
	}
	if a.Manifest, err = UnmarshalManifest(a.Entries[1].Data); err != nil {
		return nil, err
	}
	return a, nil
}

// Find returns the archive entry named name (an install path).
func (a *Archive) Find(name string) (ArchiveEntry, bool) {
	for _, e := range a.Entries[2:] {
		if e.Header.Name == name {
			return e, true
		}
	}
	return ArchiveEntry{}, false
}

// Paths returns the install paths of the regular files in the archive,
// without the manifests.
func (a *Archive) Paths() []string {
	var out []string
	for _, e := range a.Entries[2:] {
		if e.Header.Typeflag == tar.TypeReg {
			out = append(out, e.Header.Name)
		}
	}
	return out
}

// Verify checks the archive against its manifests, the way pkg add relies
// on them: every file of the archive is in the manifest with its checksum
// and every file of the manifest is in the archive, flatsize is the sum of
// the file sizes, the directories match, every entry is owned by
// root:wheel, and the compact manifest is the manifest without files,
// directories and scripts. It returns every problem found.
func (a *Archive) Verify() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	m := a.Manifest
	var flat int64
	files := map[string]bool{}
	dirs := map[string]bool{}
	for _, e := range a.Entries[2:] {
		h := e.Header
		if h.Uname != "root" || h.Gname != "wheel" {
			bad("%s: owned by %s:%s, want root:wheel", h.Name, h.Uname, h.Gname)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			files[h.Name] = true
			flat += int64(len(e.Data))
			if sum, ok := m.Files[h.Name]; !ok {
				bad("%s: in the archive but not in the manifest", h.Name)
			} else if sum != Sum(e.Data) {
				bad("%s: manifest checksum %s, archive content %s", h.Name, sum, Sum(e.Data))
			}
		case tar.TypeDir:
			name := path.Clean(h.Name)
			dirs[name] = true
			if _, ok := m.Directories[name]; !ok {
				bad("%s: directory in the archive but not in the manifest", name)
			}
		default:
			bad("%s: entry of type %q; packages hold files and directories", h.Name, h.Typeflag)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		if !files[name] {
			bad("%s: in the manifest but not in the archive", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Directories)) {
		if !dirs[name] {
			bad("%s: directory in the manifest but not in the archive", name)
		}
	}
	if m.Flatsize != flat {
		bad("flatsize %d, files add up to %d bytes", m.Flatsize, flat)
	}
	want, err1 := m.Compact().Marshal()
	got, err2 := a.Compact.Marshal()
	if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
		bad("+COMPACT_MANIFEST is not +MANIFEST without files, directories and scripts:\n%s\n%s", got, want)
	}
	return errs
}
