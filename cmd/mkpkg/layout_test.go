package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hvagent/hvagent/internal/pkgbuild"
)

// TestSampleScripts runs the install scripts that stand in for the ports
// tree's @sample, the way pkg runs them (sh, PKG_ROOTDIR set to the root
// it installs into), against the package's real files in a scratch root:
// install creates the configuration from its sample and never overwrites
// it; deinstall removes it only if it was not changed; nothing is written
// outside PKG_ROOTDIR.
func TestSampleScripts(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skipf("no sh on PATH: %v", err)
	}
	port, err := pkgbuild.LoadPort(filepath.Join("../..", "packaging/freebsd/sysutils/hvagent"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "hvagent")
	if err := os.WriteFile(bin, []byte("not a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := layout{root: "../..", port: port, bin: bin, prefix: "/usr/local", portName: "hvagent"}
	files, _, scripts, err := l.files()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	sample := filepath.Join(root, "usr/local/etc/hvagent/web-config.yml.sample")
	conf := filepath.Join(root, "usr/local/etc/hvagent/web-config.yml")
	run := func(name string) {
		t.Helper()
		if scripts[name] == "" {
			t.Fatalf("no %s script: %q", name, scripts)
		}
		cmd := exec.Command("sh", "-c", scripts[name])
		// The working directory is not the root: paths must come from
		// PKG_ROOTDIR (with a trailing slash, as pkg -r may pass it).
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "PKG_ROOTDIR="+root+"/", "PKG_PREFIX=/usr/local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", name, err, scripts[name], out)
		}
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	run("post-install")
	if read(conf) != read(sample) {
		t.Fatal("post-install did not create web-config.yml from its sample")
	}
	if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("web-config.yml: %v, mode %v, want 0600 like its sample (it holds password hashes)", err, fi.Mode())
	}
	// Unchanged: deinstall removes it.
	run("pre-deinstall")
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Errorf("pre-deinstall left the unchanged web-config.yml: %v", err)
	}
	// Changed: install keeps it, deinstall keeps it.
	run("post-install")
	if err := os.WriteFile(conf, []byte("# the admin's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("post-install")
	run("pre-deinstall")
	if read(conf) != "# the admin's\n" {
		t.Error("the scripts changed or removed an edited web-config.yml")
	}
}
