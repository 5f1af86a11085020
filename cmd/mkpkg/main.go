package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/hvagent/hvagent/internal/pkgbuild"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("mkpkg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.root, "root", ".", "the source tree")
	fs.StringVar(&o.port, "port", "packaging/freebsd/sysutils/hvagent", "the port skeleton, relative to -root")
	fs.StringVar(&o.bin, "bin", "", "the hvagent binary built for FreeBSD on -arch")
	fs.StringVar(&o.goarch, "arch", "", "Go architecture of the binary: amd64 or arm64")
	fs.IntVar(&o.osMajor, "freebsd", 14, "FreeBSD major version the package is for (its ABI)")
	fs.StringVar(&o.version, "version", "", "package version; must equal DISTVERSION of the port")
	fs.Int64Var(&o.mtime, "mtime", 0, "modification time of the entries, in Unix seconds (SOURCE_DATE_EPOCH)")
	fs.StringVar(&o.outDir, "o", "dist", "output directory; the package goes into its ABI's directory below it")
	verify := fs.Bool("verify", false, "check the packages named as arguments instead of building one")
	linux := fs.Bool("linux", false, "build the .deb and the .rpm of a binary built for Linux on -arch, instead of the FreeBSD package")
	changelog := fs.String("changelog", "", "with -linux: the packages' changelog (default packaging/linux/changelog.yml under -root)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *verify {
		return verifyFiles(fs.Args(), stdout, stderr)
	}
	if fs.NArg() > 0 || o.bin == "" || o.goarch == "" || o.version == "" {
		fmt.Fprintln(stderr, "mkpkg: -bin, -arch and -version are required, and no operands")
		return 2
	}
	if *linux {
		outs, err := buildLinux(linuxOptions{root: o.root, bin: o.bin, goarch: o.goarch, version: o.version,
			outDir: o.outDir, changelog: *changelog, mtime: o.mtime})
		if err != nil {
			fmt.Fprintf(stderr, "mkpkg: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, strings.Join(outs, "\n"))
		return 0
	}
	out, err := build(o)
	if err != nil {
		fmt.Fprintf(stderr, "mkpkg: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, out)
	return 0
}

// verifyFiles reads each package and checks it against its manifests and
// against the directory it is in.
func verifyFiles(paths []string, stdout, stderr io.Writer) int {
	status := 0
	for _, p := range paths {
		if err := verifyFile(p); err != nil {
			fmt.Fprintf(stderr, "mkpkg: %s: %v\n", p, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", p)
	}
	return status
}

func verifyFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := pkgbuild.Read(f, pkgbuild.XZ{})
	if err != nil {
		return err
	}
	var merr *multierror.Error
	for _, e := range a.Verify() {
		merr = multierror.Append(merr, e)
	}
	// "pkg repo DIR" makes one catalogue of every package below DIR,
	// which pkg then offers to machines of one ABI: a package in another
	// ABI's directory would be offered to machines it cannot run on.
	if dir := filepath.Base(filepath.Dir(path)); dir != a.Manifest.ABI {
		merr = multierror.Append(merr, fmt.Errorf("the package is for %s but in the directory %q; "+
			"each ABI has a directory of its own, named as the ABI", a.Manifest.ABI, dir))
	}
	return merr.ErrorOrNil()
}

type options struct {
	root, port, bin, goarch, version, outDir string
	osMajor                                  int
	mtime                                    int64
}

// build writes the package and returns its path.
func build(o options) (string, error) {
	port, err := pkgbuild.LoadPort(filepath.Join(o.root, o.port))
	if err != nil {
		return "", err
	}
	pkg, err := newPackage(port, o)
	if err != nil {
		return "", err
	}
	// One directory per ABI, named as the ABI, the ${ABI} of a pkg.conf
	// repository URL; in it the name pkg create gives a package,
	// NAME-VERSION.pkg (hash_file in libpkg's pkg_create.c).
	dir := filepath.Join(o.outDir, pkg.Manifest.ABI)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s.pkg", pkg.Manifest.Name, pkg.Manifest.Version)
	out := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := pkg.Write(tmp, pkgbuild.XZ{}); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return out, os.Rename(tmp.Name(), out)
}

// newPackage builds the package's manifest and file list from the port.
func newPackage(port *pkgbuild.Port, o options) (*pkgbuild.Package, error) {
	var m pkgbuild.Manifest
	var err error
	get := func(dst *string, name string) {
		if err == nil {
			*dst, err = port.Var(name)
		}
	}
	var portName, distVersion, category, license string
	get(&portName, "PORTNAME")
	get(&distVersion, "DISTVERSION")
	get(&category, "CATEGORIES")
	get(&m.Comment, "COMMENT")
	get(&m.Maintainer, "MAINTAINER")
	get(&m.WWW, "WWW")
	get(&license, "LICENSE")
	if err != nil {
		return nil, err
	}
	if distVersion != o.version {
		return nil, fmt.Errorf("version %s, but the port's DISTVERSION is %s: update %s/Makefile", o.version, distVersion, o.port)
	}
	if m.ABI, m.Arch, err = pkgbuild.ABI(o.goarch, o.osMajor); err != nil {
		return nil, err
	}
	m.Name, m.Version, m.Prefix = portName, o.version, "/usr/local"
	m.Origin = category + "/" + portName
	m.Categories = []string{category}
	m.Licenses, m.LicenseLogic = []string{license}, "single"
	m.Desc = port.Descr
	m.Messages = port.Messages

	l := layout{root: o.root, port: port, bin: o.bin, prefix: m.Prefix, portName: portName}
	files, dirs, scripts, err := l.files()
	if err != nil {
		return nil, err
	}
	m.Scripts = scripts
	return &pkgbuild.Package{Manifest: m, Files: files, Dirs: dirs, MTime: time.Unix(o.mtime, 0).UTC()}, nil
}
