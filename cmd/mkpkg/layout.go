package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hvagent/hvagent/internal/pkgbuild"
)

// layout maps the package's install paths to the source tree, the way
// the port's Makefile installs them:
//
//	sbin/hvagent                  the binary given with -bin
//	share/man/manN/NAME.N.gz      man/NAME.N, compressed
//	etc/rc.d/NAME                 files/NAME.in of the port (USE_RC_SUBR), %%PREFIX%% replaced
//	etc/devd/NAME.conf            files/devd-NAME.conf.in of the port (SUB_FILES), likewise
//	etc/hvagent/REL               packaging/REL
//	share/examples/hvagent/REL    packaging/REL
//
// so a new sample or example is one line in pkg-plist (and one install
// line in the port's Makefile).
type layout struct {
	root, bin, prefix, portName string
	port                        *pkgbuild.Port
}

var manPath = regexp.MustCompile(`^share/man/man[1-9]/([^/]+\.[1-9])\.gz$`)

// Default modes, those of the ports framework's INSTALL_PROGRAM,
// INSTALL_SCRIPT, INSTALL_MAN and INSTALL_DATA.
const (
	modeProgram = 0o555
	modeData    = 0o444
	modeSample  = 0o644 // copied to the editable configuration file
)

// files returns the package's files, directories and install scripts.
func (l layout) files() ([]pkgbuild.File, []string, map[string]string, error) {
	entries := l.port.Plist
	for _, name := range strings.Fields(l.port.Vars["USE_RC_SUBR"]) {
		entries = append(entries, pkgbuild.Entry{Path: "etc/rc.d/" + name})
	}
	var files []pkgbuild.File
	var dirs []string
	var install, deinstall []string
	for _, e := range entries {
		if (e.Owner != "" && e.Owner != "root") || (e.Group != "" && e.Group != "wheel") {
			return nil, nil, nil, fmt.Errorf("pkg-plist: %s: only root:wheel is supported", e.Path)
		}
		abs := l.abs(e.Path)
		if e.Keyword == "dir" {
			dirs = append(dirs, abs)
			continue
		}
		data, mode, err := l.source(e.Path)
		if err != nil {
			return nil, nil, nil, err
		}
		if e.Keyword == "sample" {
			mode = modeSample
			target := l.abs(e.Target())
			// pkg runs scripts with PKG_ROOTDIR set to the root it
			// installs into ("/" unless pkg -r).
			s, t := rootQuote(abs), rootQuote(target)
			install = append(install, fmt.Sprintf("[ -e %s ] || cp -p %s %s", t, s, t))
			deinstall = append(deinstall, fmt.Sprintf("if cmp -s %s %s; then rm -f %s; fi", s, t, t))
		}
		if e.Mode != 0 {
			mode = e.Mode
		}
		files = append(files, pkgbuild.File{Path: abs, Mode: mode, Data: data})
	}
	var scripts map[string]string
	if len(install) > 0 {
		// What the ports tree's @sample keyword does: install the
		// configuration from its sample unless it exists, and remove it
		// on deinstall only if it was not changed.
		scripts = map[string]string{
			"post-install":  strings.Join(install, "\n"),
			"pre-deinstall": strings.Join(deinstall, "\n"),
		}
	}
	return files, dirs, scripts, nil
}

func (l layout) abs(p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(l.prefix, p)
}

// Where an install path's contents come from.
const (
	fromBinary  = iota // the binary given with -bin
	fromMan            // a man page of the source tree, compressed
	fromRC             // an rc.d script of the port, %%PREFIX%% replaced
	fromSubFile        // a data file of the port (SUB_FILES), %%PREFIX%% replaced
	fromTree           // a file of the source tree as it is
)

// origin returns where the file installed at p (relative to the prefix)
// comes from: its kind and its path, relative to the source tree (the
// port's files/ for fromRC).
func (l layout) origin(p string) (kind int, src string, err error) {
	switch {
	case p == "sbin/"+l.portName:
		return fromBinary, "", nil
	case manPath.MatchString(p):
		return fromMan, "man/" + manPath.FindStringSubmatch(p)[1], nil
	case strings.HasPrefix(p, "etc/rc.d/"):
		return fromRC, path.Base(p) + ".in", nil
	case p == "etc/devd/"+l.portName+".conf":
		return fromSubFile, "devd-" + path.Base(p) + ".in", nil
	}
	for _, dir := range []string{"etc/" + l.portName + "/", "share/examples/" + l.portName + "/"} {
		if rel, ok := strings.CutPrefix(p, dir); ok {
			return fromTree, "packaging/" + rel, nil
		}
	}
	return 0, "", fmt.Errorf("pkg-plist: no source for %s (see cmd/mkpkg/layout.go)", p)
}

// source returns the contents and default mode of the file installed at
// p (relative to the prefix).
func (l layout) source(p string) ([]byte, fs.FileMode, error) {
	kind, src, err := l.origin(p)
	if err != nil {
		return nil, 0, err
	}
	switch kind {
	case fromBinary:
		b, err := os.ReadFile(l.bin)
		return b, modeProgram, err
	case fromMan:
		b, err := os.ReadFile(filepath.Join(l.root, filepath.FromSlash(src)))
		if err != nil {
			return nil, 0, err
		}
		gz, err := gzipBytes(b)
		return gz, modeData, err
	case fromRC:
		b, err := l.subFile(src)
		return b, modeProgram, err
	case fromSubFile:
		b, err := l.subFile(src)
		return b, modeData, err
	default:
		b, err := os.ReadFile(filepath.Join(l.root, filepath.FromSlash(src)))
		return b, modeData, err
	}
}

// subFile returns the port's files/name with %%PREFIX%% and %%LOCALBASE%%
// replaced, as the ports framework's SUB_LIST does.
func (l layout) subFile(name string) ([]byte, error) {
	src := filepath.Join(l.port.Dir, "files", name)
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	s := strings.NewReplacer("%%PREFIX%%", l.prefix, "%%LOCALBASE%%", "/usr/local").Replace(string(b))
	if strings.Contains(s, "%%") {
		return nil, fmt.Errorf("%s: a %%%%...%%%% substitution is left after PREFIX and LOCALBASE", src)
	}
	return []byte(s), nil
}

// gzipBytes compresses b the way the ports tree compresses man pages,
// with no name or time in the header, so builds are reproducible.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rootQuote quotes the absolute path p for sh(1), below the install root
// pkg gives scripts in PKG_ROOTDIR.
func rootQuote(p string) string {
	return `"${PKG_ROOTDIR%/}"` + shQuote(p)
}

// shQuote quotes s for sh(1).
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
