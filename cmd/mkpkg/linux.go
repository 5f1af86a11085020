package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/chglog"
	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
)

// linuxDir is where the Linux packages' own files are, relative to the
// source tree: the unit, /etc/default/hvagent, the copyright file, the
// changelog, the .rpm's preset and the maintainer scripts.
const linuxDir = "packaging/linux"

// The Linux packages' formats, as nfpm names them.
const (
	formatDeb = "deb"
	formatRPM = "rpm"
)

// linuxPackagers are nfpm's packagers of the formats mkpkg -linux writes.
var linuxPackagers = map[string]nfpm.Packager{formatDeb: deb.Default, formatRPM: rpm.DefaultRPM}

// Maintainer scripts: nfpm's name for each, and the script of the format
// and action in packaging/linux/scripts (deb-postinst(5); RPM's %pre,
// %post, %preun and %postun), "" for none. The .rpm has no %pre: its
// takeover is in %post, after the files are in place.
var linuxScripts = map[string][4]string{
	// preinstall, postinstall, preremove, postremove
	formatDeb: {"deb/preinst", "deb/postinst", "deb/prerm", "deb/postrm"},
	formatRPM: {"", "rpm/post", "rpm/preun", "rpm/postun"},
}

// linuxFile is one file of the Linux packages: where it goes, where it
// comes from (relative to the source tree, or the staging directory for
// generated files), its mode and nfpm's type for it.
type linuxFile struct {
	dst, src string
	mode     fs.FileMode
	typ      string
	packager string // "" for both formats
}

// linuxFiles lists the packages' files. The systemd unit goes to
// /usr/lib/systemd/system, where Debian (since the /usr merge; debhelper
// compat 14), Fedora and RHEL install units; the unit reads
// /etc/default/hvagent, then /etc/sysconfig/hvagent if there is one, so
// the RPM ships the same file as the .deb. Examples go to /usr/share/doc/hvagent/examples (Debian
// policy 12.6); the FreeBSD package's /usr/local/etc/hvagent has no
// counterpart, since nothing is configuration there but the web-config
// sample, which is an example here.
func linuxFiles(bin, manGz string) []linuxFile {
	const doc = "/usr/share/doc/hvagent"
	return []linuxFile{
		{dst: "/usr/sbin/hvagent", src: bin, mode: 0o755},
		{dst: "/usr/lib/systemd/system/hvagent.service", src: linuxDir + "/hvagent.service", mode: 0o644},
		{dst: "/etc/default/hvagent", src: linuxDir + "/hvagent.default", mode: 0o644, typ: files.TypeConfigNoReplace},
		// Documentation: %doc in the .rpm, as rpmbuild marks what it
		// installs under %{_mandir} and %{_docdir}, so that
		// "rpm --excludedocs" and tsflags=nodocs leave it out; plain files
		// in the .deb (files.TypeRPMDoc is not a .deb's type).
		{dst: "/usr/share/man/man8/hvagent.8.gz", src: manGz, mode: 0o644, typ: files.TypeRPMDoc},
		{dst: doc + "/examples/web-config.yml.sample", src: "packaging/web-config.yml.sample", mode: 0o644, typ: files.TypeRPMDoc},
		{dst: doc + "/examples/vss.d/50-postgresql-checkpoint.sample", src: "packaging/vss.d/50-postgresql-checkpoint.sample", mode: 0o644, typ: files.TypeRPMDoc},
		{dst: doc + "/examples/prometheus/hvagent-alerts.yml", src: "packaging/prometheus/hvagent-alerts.yml", mode: 0o644, typ: files.TypeRPMDoc},
		{dst: doc + "/examples/grafana/hvagent-dashboard.json", src: "packaging/grafana/hvagent-dashboard.json", mode: 0o644, typ: files.TypeRPMDoc},
		// Fedora and RHEL: "systemctl preset" (an image build's
		// preset-all included) enables the agent, as the scriptlets do.
		// Debian's packages ship no presets (debhelper's scripts enable
		// units themselves), so the .deb has none either.
		{dst: "/usr/lib/systemd/system-preset/50-hvagent.preset", src: linuxDir + "/50-hvagent.preset", mode: 0o644, packager: formatRPM},
		// Debian: the licence as a machine-readable copyright file
		// (policy 12.5); RPM: the licence as %license.
		{dst: doc + "/copyright", src: linuxDir + "/copyright", mode: 0o644, packager: formatDeb},
		{dst: "/usr/share/licenses/hvagent/LICENSE", src: "LICENSE", mode: 0o644, typ: files.TypeRPMLicense, packager: formatRPM},
		// The one override, and why, is in the file.
		{dst: "/usr/share/lintian/overrides/hvagent", src: linuxDir + "/lintian-overrides", mode: 0o644, packager: formatDeb},
		// RPM removes on erase only the directories a package owns
		// (nfpm lists no others in the .rpm); dpkg removes, once empty,
		// every directory a .deb holds, which are all of them.
		{dst: doc, mode: 0o755, typ: files.TypeDir, packager: formatRPM},
		{dst: doc + "/examples", mode: 0o755, typ: files.TypeDir, packager: formatRPM},
		{dst: doc + "/examples/grafana", mode: 0o755, typ: files.TypeDir, packager: formatRPM},
		{dst: doc + "/examples/prometheus", mode: 0o755, typ: files.TypeDir, packager: formatRPM},
		{dst: doc + "/examples/vss.d", mode: 0o755, typ: files.TypeDir, packager: formatRPM},
		{dst: "/usr/share/licenses/hvagent", mode: 0o755, typ: files.TypeDir, packager: formatRPM},
	}
}

// linuxRelease is the packages' own revision of the version: the Debian
// revision (0.1.0-1 is a non-native package, whose changelog is
// changelog.Debian.gz) and the RPM release. The changelog's newest entry
// is VERSION-linuxRelease.
const linuxRelease = "1"

type linuxOptions struct {
	root, bin, goarch, version, outDir, changelog string
	mtime                                         int64
}

// buildLinux writes the .deb and the .rpm for one architecture and
// returns their paths.
func buildLinux(o linuxOptions) ([]string, error) {
	if o.goarch != "amd64" && o.goarch != "arm64" {
		return nil, fmt.Errorf("architecture %q: Hyper-V and Azure run Linux guests on amd64 and arm64 only", o.goarch)
	}
	changelog := o.changelog
	if changelog == "" {
		changelog = filepath.Join(o.root, linuxDir, "changelog.yml")
	}
	maintainer, err := checkChangelog(changelog, o.version+"-"+linuxRelease)
	if err != nil {
		return nil, err
	}
	descr, err := os.ReadFile(filepath.Join(o.root, linuxDir, "description"))
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp("", "mkpkg-linux-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	man, err := os.ReadFile(filepath.Join(o.root, "man", "hvagent.8"))
	if err != nil {
		return nil, err
	}
	manGz, err := gzipBytes(man)
	if err != nil {
		return nil, err
	}
	manPath := filepath.Join(stage, "hvagent.8.gz")
	if err := os.WriteFile(manPath, manGz, 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, format := range []string{formatDeb, formatRPM} {
		scripts, err := writeScripts(o.root, stage, format)
		if err != nil {
			return nil, err
		}
		info := linuxInfo(o, format, maintainer, string(descr), changelog, manPath, scripts)
		p, err := writeLinuxPackage(info, format, o.outDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// linuxInfo is nfpm's description of the package in one format.
func linuxInfo(o linuxOptions, format, maintainer, descr, changelog, manPath string, scripts nfpm.Scripts) *nfpm.Info {
	mtime := time.Unix(o.mtime, 0).UTC()
	// descr: the summary, its first line, then the long description.
	// dpkg takes them as one field (synopsis, then extended description);
	// RPM has Summary and %description apart, and %description does not
	// repeat the summary.
	summary, long := firstLine(descr), descr
	if format == formatRPM {
		_, long, _ = strings.Cut(strings.TrimSpace(descr), "\n")
	}
	var contents files.Contents
	for _, f := range linuxFiles(o.bin, manPath) {
		src := f.src
		if src != "" && !filepath.IsAbs(src) {
			src = filepath.Join(o.root, filepath.FromSlash(src))
		}
		typ := f.typ
		if typ == files.TypeRPMDoc && format != formatRPM {
			typ = "" // nfpm would leave it out of the .deb
		}
		contents = append(contents, &files.Content{
			Source: src, Destination: f.dst, Type: typ, Packager: f.packager,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: f.mode, MTime: mtime},
		})
	}
	info := &nfpm.Info{
		Name:        "hvagent",
		Arch:        o.goarch,
		Platform:    "linux",
		Version:     o.version,
		Release:     linuxRelease,
		Section:     "admin",
		Priority:    "optional",
		Maintainer:  maintainer,
		Description: strings.TrimSpace(long),
		Vendor:      "hvagent",
		Homepage:    "https://github.com/hvagent/hvagent",
		License:     "BSD-2-Clause",
		Changelog:   changelog,
		MTime:       mtime,
		// The contents are listed one by one, never as patterns.
		DisableGlobbing: true,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Scripts:  scripts,
			Umask:    0o022,
			RPM: nfpm.RPM{
				// Not os.Hostname(): two builds of one commit are the
				// same bytes wherever they run.
				BuildHost:   "reproducible",
				Group:       "System Environment/Daemons",
				Summary:     summary,
				Compression: "xz",
				Packager:    maintainer,
			},
			Deb: nfpm.Deb{Compression: "xz"},
		},
	}
	return nfpm.WithDefaults(info)
}

// writeLinuxPackage writes the package under the name its format's
// conventions give it (hvagent_0.1.0-1_amd64.deb, hvagent-0.1.0-1.x86_64.rpm)
// and returns its path.
func writeLinuxPackage(info *nfpm.Info, format, outDir string) (string, error) {
	pkgr := linuxPackagers[format]
	// Package changes info (the architecture's name, the contents); the
	// name comes from a copy of what it is given.
	name := pkgr.ConventionalFileName(copyInfo(info))
	var buf bytes.Buffer
	if err := pkgr.Package(info, &buf); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, name)
	tmp, err := os.CreateTemp(outDir, name+".*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
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

func copyInfo(info *nfpm.Info) *nfpm.Info {
	c := *info
	return &c
}

// writeScripts makes the format's maintainer scripts in dir, each
// scripts/lib.sh, then the format's common.sh, then the script of its
// action, and returns them as nfpm takes them.
func writeScripts(root, dir, format string) (nfpm.Scripts, error) {
	src := filepath.Join(root, linuxDir, "scripts")
	lib, err := os.ReadFile(filepath.Join(src, "lib.sh"))
	if err != nil {
		return nfpm.Scripts{}, err
	}
	common, err := os.ReadFile(filepath.Join(src, format, "common.sh"))
	if err != nil {
		return nfpm.Scripts{}, err
	}
	lib = append(append(lib, "# "+format+"/common.sh\n"...), common...)
	var paths [4]string
	for i, name := range linuxScripts[format] {
		if name == "" {
			continue
		}
		body, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(name)))
		if err != nil {
			return nfpm.Scripts{}, err
		}
		paths[i] = filepath.Join(dir, format+"-"+filepath.Base(name))
		script := append(append(bytes.Clone(lib), "# "+name+"\n"...), body...)
		if err := os.WriteFile(paths[i], script, 0o755); err != nil {
			return nfpm.Scripts{}, err
		}
	}
	return nfpm.Scripts{PreInstall: paths[0], PostInstall: paths[1], PreRemove: paths[2], PostRemove: paths[3]}, nil
}

// checkChangelog reads the changelog and returns the packager of its
// newest entry, the packages' maintainer; the version built (with its
// release) must be that entry's, so that the changelog a package ships
// ends with it.
func checkChangelog(path, version string) (string, error) {
	entries, err := chglog.Parse(path)
	if err != nil {
		return "", fmt.Errorf("changelog %s: %w", path, err)
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("changelog %s: no entries", path)
	}
	if entries[0].Semver != version {
		return "", fmt.Errorf("version %s, but the newest entry of %s is %s: add an entry for it", version, path, entries[0].Semver)
	}
	if entries[0].Packager == "" {
		return "", fmt.Errorf("changelog %s: the newest entry has no packager", path)
	}
	return entries[0].Packager, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
