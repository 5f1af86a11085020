package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/agent"
)

// needTool skips the test without the command, except under CI=true,
// where .ci/run installs the Debian package that has it.
func needTool(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not on PATH, and CI must install it (Debian package %s): %v", tool, pkg, err)
		}
		t.Skipf("%s is not on PATH (Debian package %s): %v", tool, pkg, err)
	}
}

// buildLinuxAgent cross-builds the agent for Linux as "make package" does.
func buildLinuxAgent(t *testing.T, goarch, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hvagent")
	build := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/hvagent/hvagent/agent.Version="+version, "-o", bin, "./cmd/hvagent")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// mkLinux runs mkpkg -linux, built as "make package" builds it
// (mkpkgBin), and returns the .deb and the .rpm it wrote.
func mkLinux(t *testing.T, bin, goarch, version, changelog, outDir string) (debPath, rpmPath string) {
	t.Helper()
	return mkLinuxWith(t, false, bin, goarch, version, changelog, outDir)
}

// mkLinuxWith is mkLinux, through run in this process if inProcess.
func mkLinuxWith(t *testing.T, inProcess bool, bin, goarch, version, changelog, outDir string) (debPath, rpmPath string) {
	t.Helper()
	args := []string{"-linux", "-root", root, "-bin", bin, "-arch", goarch, "-version", version,
		"-mtime", "1700000000", "-o", outDir}
	if changelog != "" {
		args = append(args, "-changelog", changelog)
	}
	var stdout, stderr bytes.Buffer
	if inProcess {
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("mkpkg %q: exit %d\n%s", args, code, stderr.String())
		}
	} else {
		cmd := exec.Command(mkpkgBin(t), args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("mkpkg %q: %v\n%s", args, err, stderr.String())
		}
	}
	outs := strings.Fields(stdout.String())
	if len(outs) != 2 {
		t.Fatalf("mkpkg -linux printed %q, want the .deb and the .rpm", outs)
	}
	return outs[0], outs[1]
}

func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// wantLinuxFiles are the files both packages install, beside the
// format's own licence file.
var wantLinuxFiles = []string{
	"/etc/default/hvagent",
	"/usr/lib/systemd/system/hvagent.service",
	"/usr/sbin/hvagent",
	"/usr/share/doc/hvagent/examples/grafana/hvagent-dashboard.json",
	"/usr/share/doc/hvagent/examples/prometheus/hvagent-alerts.yml",
	"/usr/share/doc/hvagent/examples/vss.d/50-postgresql-checkpoint.sample",
	"/usr/share/doc/hvagent/examples/web-config.yml.sample",
	"/usr/share/man/man8/hvagent.8.gz",
}

// wantRPMDirs are the directories the .rpm owns, so that an erase
// removes them: those it makes and no other package does.
var wantRPMDirs = []string{
	"/usr/share/doc/hvagent",
	"/usr/share/doc/hvagent/examples",
	"/usr/share/doc/hvagent/examples/grafana",
	"/usr/share/doc/hvagent/examples/prometheus",
	"/usr/share/doc/hvagent/examples/vss.d",
	"/usr/share/licenses/hvagent",
}

// TestLinuxPackages builds the .deb and the .rpm for each architecture
// twice, as "make package" does, and checks that the two builds are the
// same bytes, what dpkg-deb, rpm and lintian read in them.
func TestLinuxPackages(t *testing.T) {
	needTool(t, "dpkg-deb", "dpkg")
	needTool(t, "rpm", "rpm")
	needTool(t, "lintian", "lintian")
	for _, tt := range []struct{ goarch, debArch, rpmArch string }{
		{"amd64", "amd64", "x86_64"},
		{"arm64", "arm64", "aarch64"},
	} {
		t.Run(tt.goarch, func(t *testing.T) {
			bin := buildLinuxAgent(t, tt.goarch, agent.Version)
			deb1, rpm1 := mkLinux(t, bin, tt.goarch, agent.Version, "", t.TempDir())
			// The second build of amd64 goes through run in this
			// process: the same bytes from both, and the race detector
			// sees the Linux path once.
			deb2, rpm2 := mkLinuxWith(t, tt.goarch == "amd64", bin, tt.goarch, agent.Version, "", t.TempDir())
			version := agent.Version + "-" + linuxRelease
			if want := "hvagent_" + version + "_" + tt.debArch + ".deb"; filepath.Base(deb1) != want {
				t.Errorf(".deb is %s, want %s", filepath.Base(deb1), want)
			}
			if want := "hvagent-" + version + "." + tt.rpmArch + ".rpm"; filepath.Base(rpm1) != want {
				t.Errorf(".rpm is %s, want %s", filepath.Base(rpm1), want)
			}
			for _, pair := range [][2]string{{deb1, deb2}, {rpm1, rpm2}} {
				a, _ := os.ReadFile(pair[0])
				b, _ := os.ReadFile(pair[1])
				if len(a) == 0 || !bytes.Equal(a, b) {
					t.Errorf("two builds of %s differ (%d and %d bytes): not reproducible", filepath.Base(pair[0]), len(a), len(b))
				}
			}
			checkDeb(t, deb1, tt.debArch, version)
			checkRPM(t, rpm1, tt.rpmArch)
			// --fail-on warning: every warning is fixed or overridden,
			// with its reason, in packaging/linux/lintian-overrides.
			out, err := exec.Command("lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", deb1).CombinedOutput()
			if err != nil {
				t.Errorf("lintian %s: %v\n%s", deb1, err, out)
			}
		})
	}
}

func checkDeb(t *testing.T, path, arch, version string) {
	t.Helper()
	info := command(t, "dpkg-deb", "--info", path)
	for _, field := range []string{"Package: hvagent", "Version: " + version, "Architecture: " + arch,
		"Section: admin", "Maintainer: ", "Homepage: https://github.com/hvagent/hvagent"} {
		if !strings.Contains(info, "\n "+field) {
			t.Errorf("dpkg-deb --info: no %q\n%s", field, info)
		}
	}
	// Nothing to conflict with, replace or suggest; a static binary
	// depends on nothing.
	for _, field := range []string{"Conflicts:", "Replaces:", "Suggests:", "Breaks:", "Depends:"} {
		if strings.Contains(info, "\n "+field) {
			t.Errorf("dpkg-deb --info has %s\n%s", field, info)
		}
	}
	for _, script := range []string{"preinst", "postinst", "prerm", "postrm", "conffiles"} {
		if !strings.Contains(info, " "+script+" ") {
			t.Errorf("dpkg-deb --info: no %s\n%s", script, info)
		}
	}
	conffiles := command(t, "sh", "-c", `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./conffiles`, "sh", path)
	if strings.TrimSpace(conffiles) != "/etc/default/hvagent" {
		t.Errorf("conffiles = %q, want /etc/default/hvagent", conffiles)
	}
	var got []string
	for _, line := range strings.Split(command(t, "dpkg-deb", "--contents", path), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		if !strings.HasPrefix(f[1], "root/root") && f[1] != "0/0" {
			t.Errorf("%s is owned by %s, want root", f[5], f[1])
		}
		got = append(got, strings.TrimPrefix(f[5], "."))
	}
	want := append(slices.Clone(wantLinuxFiles),
		"/usr/share/doc/hvagent/changelog.Debian.gz",
		"/usr/share/doc/hvagent/copyright",
		"/usr/share/lintian/overrides/hvagent")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("dpkg-deb --contents:\n got %q\nwant %q", got, want)
	}
}

func checkRPM(t *testing.T, path, arch string) {
	t.Helper()
	info := command(t, "rpm", "-qip", path)
	for _, field := range []string{"Name        : hvagent", "Version     : " + agent.Version,
		"Release     : " + linuxRelease, "Architecture: " + arch, "License     : BSD-2-Clause", "Build Host  : reproducible"} {
		if !strings.Contains(info, field) {
			t.Errorf("rpm -qip: no %q\n%s", field, info)
		}
	}
	// %description does not repeat the summary.
	summary := strings.TrimSpace(command(t, "rpm", "-qp", "--queryformat", "%{SUMMARY}", path))
	descr := command(t, "rpm", "-qp", "--queryformat", "%{DESCRIPTION}", path)
	if summary == "" || strings.HasPrefix(descr, summary) || len(descr) < 2*len(summary) {
		t.Errorf("rpm: summary %q, description %q: want the long description alone", summary, descr)
	}
	got := strings.Fields(command(t, "rpm", "-qlp", path))
	want := append(slices.Clone(wantLinuxFiles), "/usr/share/licenses/hvagent/LICENSE",
		"/usr/lib/systemd/system-preset/50-hvagent.preset")
	want = append(want, wantRPMDirs...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rpm -qlp:\n got %q\nwant %q", got, want)
	}
	if lic := command(t, "rpm", "-qp", "--licensefiles", path); strings.TrimSpace(lic) != "/usr/share/licenses/hvagent/LICENSE" {
		t.Errorf("rpm --licensefiles = %q", lic)
	}
	// The man page and the examples are documentation (rpm
	// --excludedocs, dnf's tsflags=nodocs).
	var wantDocs []string
	for _, f := range wantLinuxFiles {
		if strings.HasPrefix(f, "/usr/share/doc/") || strings.HasPrefix(f, "/usr/share/man/") {
			wantDocs = append(wantDocs, f)
		}
	}
	if docs := strings.Fields(command(t, "rpm", "-qp", "--docfiles", path)); !slices.Equal(docs, wantDocs) {
		t.Errorf("rpm --docfiles:\n got %q\nwant %q", docs, wantDocs)
	}
	if conf := command(t, "rpm", "-qcp", path); strings.TrimSpace(conf) != "/etc/default/hvagent" {
		t.Errorf("rpm -qcp = %q, want /etc/default/hvagent", conf)
	}
	scripts := command(t, "rpm", "-qp", "--scripts", path)
	for _, s := range []string{"postinstall scriptlet", "preuninstall scriptlet",
		"postuninstall scriptlet", "hypervkvpd.service hypervvssd.service"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("rpm --scripts: no %q", s)
		}
	}
	// The takeover is in %post: a transaction that fails earlier leaves
	// nothing masked.
	if strings.Contains(scripts, "preinstall scriptlet") {
		t.Errorf("rpm --scripts: a preinstall scriptlet (%s)", "%pre")
	}
	if deps := command(t, "rpm", "-qp", "--conflicts", "--obsoletes", path); strings.TrimSpace(deps) != "" {
		t.Errorf("rpm: conflicts or obsoletes %q", deps)
	}
}

// TestRPMInstallErase installs the .rpm with the real rpm into a root
// and a database the test makes, without its scriptlets (they would run
// chrooted into a root with no shell), and erases it: the erase leaves
// nothing behind, no directory included.
func TestRPMInstallErase(t *testing.T) {
	needTool(t, "rpm", "rpm")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("rpm installs files owned by root, and CI runs as root")
		}
		t.Skip("rpm installs files owned by root")
	}
	bin := buildLinuxAgent(t, runtime.GOARCH, agent.Version)
	_, rpmPath := mkLinux(t, bin, runtime.GOARCH, agent.Version, "", t.TempDir())
	r := t.TempDir()
	// --dbpath is inside --root.
	rpmArgs := []string{"--root", r, "--dbpath", "/rpmdb"}
	command(t, "rpm", append(rpmArgs, "--initdb")...)
	before := snapshot(t, r)
	command(t, "rpm", append(rpmArgs, "-i", "--noscripts", "--nodeps", rpmPath)...)
	for _, f := range append(slices.Clone(wantLinuxFiles), wantRPMDirs...) {
		if _, err := os.Stat(filepath.Join(r, f)); err != nil {
			t.Errorf("after install: %v", err)
		}
	}
	command(t, "rpm", append(rpmArgs, "-e", "--noscripts", "--nodeps", "hvagent")...)
	// Directories other packages own (/usr, /usr/share/doc, ...) are
	// left, empty, as they would be on a real system.
	var left []string
	for _, p := range snapshot(t, r) {
		if !slices.Contains(before, p) && !isParentOf(p, "usr/share/doc", "usr/share/licenses",
			"usr/share/man/man8", "usr/lib/systemd/system", "usr/lib/systemd/system-preset", "usr/sbin", "etc/default") {
			left = append(left, p)
		}
	}
	if len(left) != 0 {
		t.Errorf("after erase, left behind: %q", left)
	}
}

// isParentOf says whether dir is one of the paths or a parent of one.
func isParentOf(dir string, paths ...string) bool {
	for _, p := range paths {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// TestRPMScripts runs the .rpm's scriptlets, as mkpkg makes them, with
// the arguments RPM gives them on a first install, an upgrade and an
// erase, on a root the test makes (DPKG_ROOT, which lib.sh honours for
// any format; there, as in an image build, they only make and remove
// symlinks): the takeover happens in %post, the erase undoes it, and a
// mask the administrator made before stays.
func TestRPMScripts(t *testing.T) {
	s, err := writeScripts(root, t.TempDir(), formatRPM)
	if err != nil {
		t.Fatal(err)
	}
	if s.PreInstall != "" {
		t.Errorf("the .rpm has a %s scriptlet: %s", "%pre", s.PreInstall)
	}
	r := t.TempDir()
	etc := filepath.Join(r, "etc/systemd/system")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", filepath.Join(etc, "hypervvssd.service")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, r)
	scriptlet := func(path, arg string) {
		t.Helper()
		cmd := exec.Command("sh", path, arg)
		cmd.Env = append(os.Environ(), "DPKG_ROOT="+r)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(path), arg, err, out)
		}
	}

	scriptlet(s.PostInstall, "1")
	want := append(slices.Clone(before),
		"etc/systemd/system/hypervkvpd.service -> /dev/null",
		"etc/systemd/system/multi-user.target.wants",
		"etc/systemd/system/multi-user.target.wants/hvagent.service -> /usr/lib/systemd/system/hvagent.service",
		"var/lib/hvagent", "var/lib/hvagent/masked", "var/lib/hvagent/masked/hypervkvpd.service")
	slices.Sort(want)
	if got := snapshot(t, r); !slices.Equal(got, want) {
		t.Errorf("after %s 1:\n got %q\nwant %q", "%post", got, want)
	}

	// An upgrade: the new version's %post, then the old one's %preun
	// and %postun. The administrator had unmasked hypervkvpd.service.
	if err := os.Remove(filepath.Join(etc, "hypervkvpd.service")); err != nil {
		t.Fatal(err)
	}
	scriptlet(s.PostInstall, "2")
	scriptlet(s.PreRemove, "1")
	scriptlet(s.PostRemove, "1")
	if _, err := os.Lstat(filepath.Join(etc, "hypervkvpd.service")); err == nil {
		t.Error("the upgrade masked hypervkvpd.service again, which the administrator had unmasked")
	}
	if _, err := os.Lstat(filepath.Join(etc, "multi-user.target.wants/hvagent.service")); err != nil {
		t.Errorf("the upgrade disabled the agent: %v", err)
	}

	scriptlet(s.PreRemove, "0")
	scriptlet(s.PostRemove, "0")
	if got := snapshot(t, r); !slices.Equal(got, before) {
		t.Errorf("after the erase:\n got %q\nwant %q", got, before)
	}
}

// TestDebInstallUpgradePurge installs 0.1.0, upgrades to a newer
// version and removes and purges it with the real dpkg into a root the
// test makes (its own admin directory; DPKG_ROOT for the maintainer
// scripts, which run outside a chroot, as dpkg --force-script-chrootless
// runs them): the takeover's symlinks come and go, the administrator's
// changes survive the upgrade, a mask the administrator made before the
// install survives the purge, and nothing is left behind but the kept
// configuration, then nothing.
func TestDebInstallUpgradePurge(t *testing.T) {
	needTool(t, "dpkg", "dpkg")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("dpkg --root needs root, and CI runs as root")
		}
		t.Skip("dpkg --root needs root")
	}
	goarch := runtime.GOARCH
	oldBin := buildLinuxAgent(t, goarch, agent.Version)
	newVersion := "0.1.1"
	newBin := buildLinuxAgent(t, goarch, newVersion)
	oldDeb, _ := mkLinux(t, oldBin, goarch, agent.Version, "", t.TempDir())

	// The newer version's changelog: an entry above the current ones.
	cl, err := os.ReadFile(filepath.Join(root, linuxDir, "changelog.yml"))
	if err != nil {
		t.Fatal(err)
	}
	entry := "- semver: " + newVersion + "-" + linuxRelease + "\n  date: 2027-01-01T00:00:00Z\n" +
		"  packager: Test <test@example.org>\n  changes:\n    - note: A newer version.\n"
	newChangelog := filepath.Join(t.TempDir(), "changelog.yml")
	if err := os.WriteFile(newChangelog, []byte(entry+string(cl)), 0o644); err != nil {
		t.Fatal(err)
	}
	newDeb, _ := mkLinux(t, newBin, goarch, newVersion, newChangelog, t.TempDir())

	r := t.TempDir()
	admin := filepath.Join(r, "var/lib/dpkg")
	// A system with systemd has /etc/systemd/system; dpkg needs its
	// database.
	for _, d := range []string{"etc/systemd/system", "var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The administrator masked the KVP daemon before installing: the
	// mask is theirs, and stays after the package is gone.
	if err := os.Symlink("/dev/null", filepath.Join(r, "etc/systemd/system/hv-kvp-daemon.service")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, r)
	dpkg := func(args ...string) {
		t.Helper()
		args = append([]string{"--root=" + r, "--admindir=" + admin, "--force-script-chrootless", "--force-not-root"}, args...)
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg %q: %v\n%s", args, err, out)
		}
	}
	status := func() string {
		out, _ := exec.Command("dpkg-query", "--admindir="+admin, "-W", "-f=${Status} ${Version}", "hvagent").Output()
		return string(out)
	}

	dpkg("-i", oldDeb)
	if got, want := status(), "install ok installed "+agent.Version+"-"+linuxRelease; got != want {
		t.Fatalf("after install: %q, want %q", got, want)
	}
	links := map[string]string{
		"etc/systemd/system/multi-user.target.wants/hvagent.service": "/usr/lib/systemd/system/hvagent.service",
		"etc/systemd/system/hv-kvp-daemon.service":                   "/dev/null",
		"etc/systemd/system/hv-vss-daemon.service":                   "/dev/null",
	}
	for link, target := range links {
		if got, err := os.Readlink(filepath.Join(r, link)); err != nil || got != target {
			t.Errorf("after install: %s -> %q (%v), want -> %s", link, got, err, target)
		}
	}
	// The record of the one mask the package made.
	if got, _ := filepath.Glob(filepath.Join(r, "var/lib/hvagent/masked/*")); len(got) != 1 || filepath.Base(got[0]) != "hv-vss-daemon.service" {
		t.Errorf("after install, masks recorded: %q, want hv-vss-daemon.service alone", got)
	}
	for _, f := range wantLinuxFiles {
		if _, err := os.Stat(filepath.Join(r, f)); err != nil {
			t.Errorf("after install: %v", err)
		}
	}

	// The administrator edits the flags and gives VSS back.
	conf := filepath.Join(r, "etc/default/hvagent")
	edited := []byte("HVAGENT_FLAGS=\"--disable=vss\"\n")
	if err := os.WriteFile(conf, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(r, "etc/systemd/system/hv-vss-daemon.service")); err != nil {
		t.Fatal(err)
	}

	dpkg("-i", newDeb)
	if got, want := status(), "install ok installed "+newVersion+"-"+linuxRelease; got != want {
		t.Fatalf("after upgrade: %q, want %q", got, want)
	}
	if got, _ := os.ReadFile(conf); !bytes.Equal(got, edited) {
		t.Errorf("after upgrade, /etc/default/hvagent = %q, want the administrator's %q", got, edited)
	}
	if _, err := os.Lstat(filepath.Join(r, "etc/systemd/system/hv-vss-daemon.service")); err == nil {
		t.Error("the upgrade masked hv-vss-daemon.service again, which the administrator had unmasked")
	}
	if got, _ := os.ReadFile(filepath.Join(r, "usr/sbin/hvagent")); !bytes.Equal(got, mustRead(t, newBin)) {
		t.Error("after upgrade, /usr/sbin/hvagent is not the new version's binary")
	}

	// The administrator enables the agent again with a systemctl that
	// names /lib/systemd/system (Debian bookworm); removal knows the link.
	enable := filepath.Join(r, "etc/systemd/system/multi-user.target.wants/hvagent.service")
	if err := os.Remove(enable); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/lib/systemd/system/hvagent.service", enable); err != nil {
		t.Fatal(err)
	}

	dpkg("-r", "hvagent")
	wantAfterRemove := append(slices.Clone(before), "etc/default", "etc/default/hvagent")
	slices.Sort(wantAfterRemove)
	if got := snapshot(t, r); !slices.Equal(got, wantAfterRemove) {
		t.Errorf("after remove:\n got %q\nwant %q (only the configuration is kept)", got, wantAfterRemove)
	}

	dpkg("-P", "hvagent")
	if got := snapshot(t, r); !slices.Equal(got, before) {
		t.Errorf("after purge:\n got %q\nwant %q", got, before)
	}
	if got := status(); got != "" {
		t.Errorf("after purge dpkg still knows hvagent: %q", got)
	}
}

// snapshot lists what is in the root outside dpkg's database, symlinks
// with their targets.
func snapshot(t *testing.T, r string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r, p)
		if rel == "var/lib/dpkg" {
			return filepath.SkipDir
		}
		if rel == "." || rel == "var" || rel == "var/lib" {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLinuxCopyright: the .deb's copyright file carries the licence of
// LICENSE, word for word, in the machine-readable format.
func TestLinuxCopyright(t *testing.T) {
	license := strings.Fields(string(mustRead(t, filepath.Join(root, "LICENSE"))))
	copyright := string(mustRead(t, filepath.Join(root, linuxDir, "copyright")))
	if !strings.HasPrefix(copyright, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n") {
		t.Error("copyright: not in the machine-readable format (DEP-5)")
	}
	_, text, ok := strings.Cut(copyright, "\nLicense: BSD-2-clause\n")
	_, text, ok2 := strings.Cut(text, "\nLicense: BSD-2-clause\n")
	if !ok || !ok2 {
		t.Fatal("copyright: no Files stanza's License: BSD-2-clause and stand-alone License paragraph")
	}
	var words []string
	for _, w := range strings.Fields(text) {
		if w != "." { // DEP-5's empty line
			words = append(words, w)
		}
	}
	// LICENSE: title and copyright line, then the text.
	_, body, _ := strings.Cut(strings.Join(license, " "), "The hvagent authors ")
	if got := strings.Join(words, " "); got != body {
		t.Errorf("copyright's licence text differs from LICENSE's:\n got %q\nwant %q", got, body)
	}
	if !strings.Contains(strings.Join(license, " "), "Copyright (c) 2026, The hvagent authors") ||
		!strings.Contains(copyright, "Copyright: 2026, The hvagent authors") {
		t.Error("copyright: the holder and year differ from LICENSE's")
	}
}

// TestLinuxScriptsShellcheck runs shellcheck on every maintainer script
// as mkpkg makes it. Info-level findings are left out: each script
// holds every function of lib.sh and calls only some of them (SC2317).
func TestLinuxScriptsShellcheck(t *testing.T) {
	needTool(t, "shellcheck", "shellcheck")
	for _, format := range []string{formatDeb, formatRPM} {
		dir := t.TempDir()
		s, err := writeScripts(root, dir, format)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{s.PreInstall, s.PostInstall, s.PreRemove, s.PostRemove} {
			if p == "" {
				continue
			}
			if out, err := exec.Command("shellcheck", "-s", "sh", "-S", "warning", p).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", filepath.Base(p), err, out)
			}
		}
	}
}
