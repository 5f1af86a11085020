package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/pkgbuild"
)

// root is the source tree, relative to this package's directory.
const root = "../.."

const portDir = "packaging/freebsd/sysutils/hvagent"

func needXZ(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("xz is not on PATH, and CI must install it: %v", err)
		}
		t.Skipf("xz is not on PATH: %v", err)
	}
}

// TestPackage builds the package for each architecture the way "make
// package" does -- the agent cross-compiled for FreeBSD, then mkpkg --
// opens it, and checks it against its manifest, against pkg-plist and
// against the architecture.
func TestPackage(t *testing.T) {
	needXZ(t)
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	port, err := pkgbuild.LoadPort(filepath.Join(root, portDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		goarch  string
		machine elf.Machine
		abi     string
	}{
		{"amd64", elf.EM_X86_64, "FreeBSD:14:amd64"},
		{"arm64", elf.EM_AARCH64, "FreeBSD:14:aarch64"},
	} {
		t.Run(tt.goarch, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "hvagent")
			build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/hvagent")
			build.Dir = root
			build.Env = append(os.Environ(), "GOOS=freebsd", "GOARCH="+tt.goarch, "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			var stdout, stderr bytes.Buffer
			args := []string{"-root", root, "-bin", bin, "-arch", tt.goarch, "-version", agent.Version, "-o", dir, "-mtime", "1700000000"}
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("mkpkg %q: exit %d\n%s", args, code, stderr.String())
			}
			pkgPath := strings.TrimSpace(stdout.String())
			if want := filepath.Join(dir, tt.abi, "hvagent-"+agent.Version+".pkg"); pkgPath != want {
				t.Fatalf("mkpkg wrote %q, want %q: a directory per ABI, the name pkg create gives", pkgPath, want)
			}
			f, err := os.Open(pkgPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a, err := pkgbuild.Read(f, pkgbuild.XZ{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range a.Verify() {
				t.Error(e)
			}
			checkManifest(t, a.Manifest, tt.abi)
			checkMessages(t, a.Entries[1].Data, port)
			checkPaths(t, a, port)
			checkExamples(t, a)
			checkBinary(t, a, tt.machine, absRoot)
			checkRCScript(t, a)
			checkLibarchive(t, pkgPath, a)
			checkVerifyDir(t, pkgPath, tt.abi)
		})
	}
}

func checkManifest(t *testing.T, m pkgbuild.Manifest, abi string) {
	t.Helper()
	if m.Name != "hvagent" || m.Origin != "sysutils/hvagent" || m.Version != agent.Version || m.ABI != abi ||
		m.Prefix != "/usr/local" || m.Comment == "" || m.Desc == "" || m.WWW == "" || m.Maintainer == "" || len(m.Licenses) != 1 {
		t.Errorf("manifest metadata: %+v", m.Compact())
	}
	if len(m.Messages) == 0 || !strings.Contains(m.Messages[0].Message, "hvagent_enable=YES") {
		t.Errorf("manifest messages = %+v, want pkg-message", m.Messages)
	}
}

// checkPaths compares the archive with pkg-plist plus the rc.d script:
// the same files, nothing else (nothing from the build tree), with the
// modes the ports framework would give them.
func checkPaths(t *testing.T, a *pkgbuild.Archive, port *pkgbuild.Port) {
	t.Helper()
	want := []string{"/usr/local/etc/rc.d/hvagent"}
	for _, e := range port.Plist {
		if e.Keyword != "dir" {
			want = append(want, path.Join("/usr/local", e.Path))
		}
	}
	got := a.Paths()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("archive files (-want +got)\n-%q\n+%q", want, got)
	}
	modes := map[string]int64{
		"/usr/local/sbin/hvagent":                                                 0o555,
		"/usr/local/etc/rc.d/hvagent":                                             0o555,
		"/usr/local/share/man/man8/hvagent.8.gz":                                  0o444,
		"/usr/local/etc/hvagent/web-config.yml.sample":                            0o600,
		"/usr/local/etc/devd/hvagent.conf":                                        0o444,
		"/usr/local/share/examples/hvagent/prometheus/hvagent-alerts.yml":         0o444,
		"/usr/local/share/examples/hvagent/grafana/hvagent-dashboard.json":        0o444,
		"/usr/local/share/examples/hvagent/vss.d/50-postgresql-checkpoint.sample": 0o444,
	}
	for name, mode := range modes {
		if e, ok := a.Find(name); !ok || e.Header.Mode != mode {
			t.Errorf("%s: mode %o, want %o", name, e.Header.Mode, mode)
		}
	}
	if a.Manifest.Scripts["post-install"] == "" || !strings.Contains(a.Manifest.Scripts["post-install"], "web-config.yml'") {
		t.Errorf("no post-install script for the @sample entries: %q", a.Manifest.Scripts)
	}
}

// hereDocs returns the here-documents of a pkg-message and the type of
// the object each is in, read with a regular expression rather than
// pkgbuild.ParseMessages, so that the test does not check the parser
// against itself.
var hereDocRE = regexp.MustCompile(`(?ms)^\{ type: (\w+)\n\s*message: <<([A-Z]+)\n(.*?)\n([A-Z]+)\n\}`)

// checkMessages parses +MANIFEST as JSON, as pkg does, and compares its
// "messages" with the here-documents of the port's pkg-message, byte for
// byte. The port's message has no $VARIABLE and no white space around
// its text, so the two are equal as written.
func checkMessages(t *testing.T, manifest []byte, port *pkgbuild.Port) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(port.Dir, "pkg-message"))
	if err != nil {
		t.Fatal(err)
	}
	var want []pkgbuild.Message
	for _, m := range hereDocRE.FindAllStringSubmatch(string(src), -1) {
		if m[2] != m[4] {
			t.Fatalf("pkg-message: here-document %s closed by %s", m[2], m[4])
		}
		want = append(want, pkgbuild.Message{Type: m[1], Message: m[3]})
	}
	if len(want) != 2 || strings.ContainsAny(string(src), "$") {
		t.Fatalf("pkg-message: %d here-documents, want an install and a remove message without $", len(want))
	}
	var top struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(manifest, &top); err != nil {
		t.Fatalf("+MANIFEST is not JSON: %v", err)
	}
	var got []pkgbuild.Message
	for _, m := range top.Messages {
		text, _ := m["message"].(string)
		typ, _ := m["type"].(string)
		got = append(got, pkgbuild.Message{Type: typ, Message: text})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("+MANIFEST messages (-want +got)\n-%q\n+%q", want, got)
	}
	// pkg delete prints the remove message: it names every configuration
	// file that an edit keeps (each @sample target).
	for _, e := range port.Plist {
		if target := e.Target(); target != "" {
			conf := path.Join("/usr/local", target)
			if !slices.ContainsFunc(got, func(m pkgbuild.Message) bool {
				return m.Type == "remove" && strings.Contains(m.Message, conf)
			}) {
				t.Errorf("no remove message names %s, which pkg delete keeps when it was edited", conf)
			}
		}
	}
}

// checkExamples checks that the alert rules, the dashboard and the VSS
// hook are examples under share/examples/hvagent, and that etc/hvagent
// holds nothing but the @sample configuration.
func checkExamples(t *testing.T, a *pkgbuild.Archive) {
	t.Helper()
	for _, p := range a.Paths() {
		if rest, ok := strings.CutPrefix(p, "/usr/local/etc/hvagent/"); ok && rest != "web-config.yml.sample" {
			t.Errorf("%s is in etc/hvagent; only the @sample configuration belongs there, examples go to share/examples/hvagent", p)
		}
	}
	for _, rel := range []string{"prometheus/hvagent-alerts.yml", "grafana/hvagent-dashboard.json", "vss.d/50-postgresql-checkpoint.sample"} {
		if _, ok := a.Find("/usr/local/share/examples/hvagent/" + rel); !ok {
			t.Errorf("no example %s in /usr/local/share/examples/hvagent", rel)
		}
	}
	if _, ok := a.Manifest.Directories["/usr/local/etc/hvagent/vss.d"]; !ok {
		t.Error("the package does not own the hooks directory /usr/local/etc/hvagent/vss.d")
	}
}

// checkVerifyDir runs mkpkg -verify on the package where mkpkg wrote it,
// and on a copy in the directory of another ABI, which it must refuse:
// "pkg repo" on that directory would offer the package to machines that
// cannot run it.
func checkVerifyDir(t *testing.T, pkgPath, abi string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"-verify", pkgPath}, &out, &errb); code != 0 {
		t.Errorf("mkpkg -verify %s: exit %d\n%s", pkgPath, code, errb.String())
	}
	other := "FreeBSD:14:aarch64"
	if abi == other {
		other = "FreeBSD:14:amd64"
	}
	wrong := filepath.Join(t.TempDir(), other, filepath.Base(pkgPath))
	data, err := os.ReadFile(pkgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(wrong), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrong, data, 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"-verify", wrong}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "is for "+abi) {
		t.Errorf("mkpkg -verify on a %s package in %s: exit %d, %q; want a refusal", abi, other, code, errb.String())
	}
}

// checkBinary checks that the binary is a static FreeBSD ELF for the
// package's architecture and holds no path of the build machine.
func checkBinary(t *testing.T, a *pkgbuild.Archive, machine elf.Machine, absRoot string) {
	t.Helper()
	e, ok := a.Find("/usr/local/sbin/hvagent")
	if !ok {
		t.Fatal("no /usr/local/sbin/hvagent in the package")
	}
	f, err := elf.NewFile(bytes.NewReader(e.Data))
	if err != nil {
		t.Fatalf("the binary is not ELF: %v", err)
	}
	if f.Machine != machine || f.OSABI != elf.ELFOSABI_FREEBSD || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF header: machine %v, OS ABI %v, class %v, type %v; want %v, FreeBSD, 64-bit, executable",
			f.Machine, f.OSABI, f.Class, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an interpreter; want a static binary (CGO_ENABLED=0)")
		}
	}
	if bytes.Contains(e.Data, []byte(absRoot)) {
		t.Errorf("the binary contains the build path %s; build with -trimpath", absRoot)
	}
}

func checkRCScript(t *testing.T, a *pkgbuild.Archive) {
	t.Helper()
	e, ok := a.Find("/usr/local/etc/rc.d/hvagent")
	if !ok {
		t.Fatal("no rc.d script in the package")
	}
	s := string(e.Data)
	if strings.Contains(s, "%%") || !strings.Contains(s, "hvagent_bin=/usr/local/sbin/hvagent") {
		t.Errorf("rc.d script not rendered for /usr/local:\n%s", s)
	}
}

// checkLibarchive lists the package with bsdtar, which reads archives
// with libarchive as pkg does, and compares the entries with ours.
// Skipped without bsdtar, except in CI (Debian's libarchive-tools).
func checkLibarchive(t *testing.T, pkgPath string, a *pkgbuild.Archive) {
	t.Helper()
	bsdtar, err := exec.LookPath("bsdtar")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bsdtar is not on PATH, and CI must install it: %v", err)
		}
		t.Logf("bsdtar is not on PATH (%v): not reading the package with libarchive", err)
		return
	}
	out, err := exec.Command(bsdtar, "-tf", pkgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("bsdtar -tf: %v\n%s", err, out)
	}
	var want []string
	for _, e := range a.Entries {
		want = append(want, e.Header.Name)
	}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); !slices.Equal(got, want) {
		t.Errorf("libarchive lists (-want +got)\n-%q\n+%q", want, got)
	}
	manifest, err := exec.Command(bsdtar, "-xOf", pkgPath, "+MANIFEST").Output()
	if err != nil || !bytes.Equal(manifest, a.Entries[1].Data) {
		t.Errorf("libarchive reads +MANIFEST differently: %v\n%s", err, manifest)
	}
}

// TestPortMakefile checks the port skeleton against the source tree: its
// version is the agent's, and its Makefile installs the source of every
// pkg-plist entry, so the ports tree and "make package" ship the same
// files.
func TestPortMakefile(t *testing.T) {
	port, err := pkgbuild.LoadPort(filepath.Join(root, portDir))
	if err != nil {
		t.Fatal(err)
	}
	if v := port.Vars["DISTVERSION"]; v != agent.Version {
		t.Errorf("DISTVERSION = %q, want the agent's version %q (agent/version.go)", v, agent.Version)
	}
	if port.Vars["USES"] != "go:modules" || port.Vars["USE_RC_SUBR"] != "hvagent" {
		t.Errorf("USES = %q, USE_RC_SUBR = %q", port.Vars["USES"], port.Vars["USE_RC_SUBR"])
	}
	checkLicense(t, port)
	checkExamplesOption(t, port)
	pages, err := filepath.Glob(filepath.Join(root, "man", "*.[1-9]"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no man pages: %v", err)
	}
	for _, page := range pages {
		name := filepath.Base(page)
		entry := "share/man/man" + name[len(name)-1:] + "/" + name + ".gz"
		if !slices.ContainsFunc(port.Plist, func(e pkgbuild.Entry) bool { return e.Path == entry }) {
			t.Errorf("man/%s is not in pkg-plist as %s", name, entry)
		}
	}
	mk, err := os.ReadFile(filepath.Join(root, portDir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	l := layout{root: root, port: port, portName: "hvagent", prefix: "/usr/local"}
	for _, e := range port.Plist {
		if e.Keyword == "dir" || e.Path == "sbin/hvagent" {
			continue
		}
		kind, src, err := l.origin(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		if kind == fromSubFile {
			// files/X.in becomes ${WRKDIR}/X through SUB_FILES.
			sub := strings.TrimSuffix(src, ".in")
			if !slices.Contains(strings.Fields(port.Vars["SUB_FILES"]), sub) || !strings.Contains(string(mk), "${WRKDIR}/"+sub) {
				t.Errorf("pkg-plist has %s, but the port's Makefile does not have %s in SUB_FILES and install ${WRKDIR}/%s", e.Path, sub, sub)
			}
			continue
		}
		if !strings.Contains(string(mk), "${WRKSRC}/"+src) {
			t.Errorf("pkg-plist has %s, but the port's Makefile does not install ${WRKSRC}/%s", e.Path, src)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-arch", "amd64"}, &out, &errb); code != 2 {
		t.Errorf("mkpkg without -bin: exit %d, want 2", code)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hvagent")
	os.WriteFile(bin, []byte("x"), 0o755)
	errb.Reset()
	code := run([]string{"-root", root, "-bin", bin, "-arch", "amd64", "-version", "9.9.9", "-o", dir}, &out, &errb)
	if code != 1 || !regexp.MustCompile(`DISTVERSION is`).MatchString(errb.String()) {
		t.Errorf("mkpkg with a version the port does not have: exit %d, %q", code, errb.String())
	}
}

// checkLicense checks that the port's LICENSE has its LICENSE_FILE, the
// BSD 2-Clause licence at the root of the source tree, which the ports
// framework (Mk/bsd.licenses.mk) installs with the package.
func checkLicense(t *testing.T, port *pkgbuild.Port) {
	t.Helper()
	if port.Vars["LICENSE"] != "BSD2CLAUSE" || port.Vars["LICENSE_FILE"] != "${WRKSRC}/LICENSE" {
		t.Errorf("LICENSE = %q, LICENSE_FILE = %q; want BSD2CLAUSE and ${WRKSRC}/LICENSE", port.Vars["LICENSE"], port.Vars["LICENSE_FILE"])
	}
	b, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatalf("the port says LICENSE_FILE=${WRKSRC}/LICENSE: %v", err)
	}
	text := strings.Join(strings.Fields(string(b)), " ")
	for _, want := range []string{
		"BSD 2-Clause License",
		"Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:",
		"1. Redistributions of source code must retain the above copyright notice",
		"2. Redistributions in binary form must reproduce the above copyright notice",
		"THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\"",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("LICENSE lacks %q", want)
		}
	}
	if strings.Contains(text, "3. ") {
		t.Error("LICENSE has a third clause; the port says BSD2CLAUSE")
	}
}

// checkExamplesOption checks the EXAMPLES option as ports have it: in
// OPTIONS_DEFINE, the examples installed by post-install-EXAMPLES-on
// only, and every pkg-plist line under EXAMPLESDIR behind
// %%PORTEXAMPLES%%, so that the option off leaves them all out.
func checkExamplesOption(t *testing.T, port *pkgbuild.Port) {
	t.Helper()
	if !slices.Contains(strings.Fields(port.Vars["OPTIONS_DEFINE"]), "EXAMPLES") {
		t.Errorf("OPTIONS_DEFINE = %q, want EXAMPLES in it", port.Vars["OPTIONS_DEFINE"])
	}
	mk, err := os.ReadFile(filepath.Join(port.Dir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	_, target, ok := strings.Cut(string(mk), "\npost-install-EXAMPLES-on:\n")
	if !ok {
		t.Fatal("the port's Makefile has no post-install-EXAMPLES-on target")
	}
	target, _, _ = strings.Cut(target, "\n\n")
	var examples []string
	for _, e := range port.Plist {
		if rel, ok := strings.CutPrefix(e.Path, "share/examples/hvagent/"); ok {
			examples = append(examples, e.Path)
			if !strings.Contains(target, "${WRKSRC}/packaging/"+rel) || !strings.Contains(target, "${EXAMPLESDIR}/"+path.Dir(rel)) {
				t.Errorf("post-install-EXAMPLES-on does not install packaging/%s into ${EXAMPLESDIR}/%s", rel, path.Dir(rel))
			}
		}
	}
	if len(examples) == 0 {
		t.Fatal("pkg-plist has no examples")
	}
	f, err := os.Open(filepath.Join(port.Dir, "pkg-plist"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	without, err := pkgbuild.ParsePlist(f, pkgbuild.PlistSub("hvagent", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(without) != len(port.Plist)-len(examples) {
		t.Errorf("with EXAMPLES off pkg-plist has %d entries, want %d (all but %q)", len(without), len(port.Plist)-len(examples), examples)
	}
	for _, e := range without {
		if strings.HasPrefix(e.Path, "share/examples/") {
			t.Errorf("%s is installed with EXAMPLES off; put %%%%PORTEXAMPLES%%%% before it", e.Path)
		}
	}
}
