//go:build freebsd

package main

// FreeBSD-native tests of what the port installs: the rc.d script run by
// the real rc.subr(8) through service(8) inside a jail the test builds,
// with the agent on a kvptest socket fake; and the package built by
// cmd/mkpkg added with pkg(8) into a root directory the test makes,
// checked with "pkg check -s" and deleted again. They need root, jail(8)
// and nullfs, and a bootstrapped pkg(8); without them they skip, except
// under CI=true (.github/workflows/freebsd.yml), where they fail. The
// machine's own rc.d directories, rc.conf and package database are never
// touched.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/nativetest"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

func nativeNeedTools(t *testing.T, tools ...string) {
	t.Helper()
	nativetest.Need(t, os.Geteuid() == 0, "needs root")
	for _, tool := range tools {
		_, err := exec.LookPath(tool)
		nativetest.Need(t, err == nil, tool+" not found")
	}
}

// nativeRun runs argv with env added and returns its output, failing the
// test on an error.
func nativeRun(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	out, err := nativeTry(env, argv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

func nativeTry(env []string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// jailRoot is a minimal root for a jail: the base system's programs and
// libraries mounted read-only with nullfs, a copy of /etc the test may
// change, and empty /usr/local, /var and /tmp. Its cleanup removes the
// jail, unmounts everything, and removes the directory only if every
// unmount worked, so nothing outside the test's directory can be deleted.
type jailRoot struct {
	dir, name string
}

// readOnlyFromHost are the directories a jail running rc.subr, service,
// daemon and the agent needs from the base system.
var readOnlyFromHost = []string{"/bin", "/sbin", "/lib", "/libexec", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/share"}

func newJailRoot(t *testing.T) *jailRoot {
	t.Helper()
	nativeNeedTools(t, "jail", "jexec", "mount_nullfs", "umount", "cp", "service")
	dir, err := os.MkdirTemp("", "hvj")
	if err != nil {
		t.Fatal(err)
	}
	r := &jailRoot{dir: dir, name: fmt.Sprintf("hvagent_rcd_%d", os.Getpid())}
	var mounted []string
	jailed := false
	t.Cleanup(func() {
		clean := true
		if jailed {
			if out, err := exec.Command("jail", "-r", r.name).CombinedOutput(); err != nil {
				t.Errorf("jail -r %s: %v\n%s", r.name, err, out)
				clean = false
			}
		}
		for i := len(mounted) - 1; i >= 0; i-- {
			if out, err := exec.Command("umount", mounted[i]).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v\n%s", mounted[i], err, out)
				clean = false
			}
		}
		if clean {
			os.RemoveAll(dir)
		} else {
			t.Errorf("left %s in place: something is still mounted under it", dir)
		}
	})
	for _, d := range []string{"usr/local/etc/rc.d", "usr/local/sbin", "var/run", "var/db", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	nativeRun(t, nil, "cp", "-Rp", "/etc", dir+"/")
	for _, src := range readOnlyFromHost {
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := filepath.Join(dir, src)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("mount_nullfs", "-o", "ro", src, dst).CombinedOutput()
		nativetest.Need(t, err == nil, fmt.Sprintf("mount_nullfs %s: %v: %s", src, err, out))
		mounted = append(mounted, dst)
	}
	nativeRun(t, nil, "jail", "-c", "name="+r.name, "path="+dir, "host.hostname="+r.name, "persist", "mount.devfs")
	jailed = true
	return r
}

// path is a path of the jail as the host sees it.
func (r *jailRoot) path(p string) string { return filepath.Join(r.dir, p) }

// service runs service(8) for the hvagent script inside the jail.
func (r *jailRoot) service(cmd string) (string, error) {
	return nativeTry(nil, "service", "-j", r.name, "hvagent", cmd)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// The port's rc.d script under the real rc.subr and service(8): start
// runs the agent under daemon(8) and the agent registers with the KVP
// fake, status finds it through the pidfile, stop ends it and the fake
// sees it go.
func TestNativeRCScriptService(t *testing.T) {
	r := newJailRoot(t)
	src, err := os.ReadFile(rcScript)
	if err != nil {
		t.Fatal(err)
	}
	// What the port does at install (SUB_LIST, USE_RC_SUBR).
	script := strings.ReplaceAll(string(src), "%%PREFIX%%", "/usr/local")
	writeFile(t, r.path("usr/local/etc/rc.d/hvagent"), script, 0o555)
	copyFile(t, agentBin, r.path("usr/local/sbin/hvagent"), 0o555)

	// The fake device inside the jail's /tmp; the agent reaches it as
	// /tmp/kvp.sock.
	k, err := kvptest.NewKernel(r.path("tmp/kvp.sock"), kvptest.KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	writeFile(t, r.path("etc/rc.conf"), `hvagent_enable="YES"
hvagent_listen=""
hvagent_disable="vss,vf"
hvagent_log_level="debug"
hvagent_flags="--kvp.device=/tmp/kvp.sock --kvp.pool-dir=/var/db/hyperv/pool"
`, 0o644)

	out, err := r.service("start")
	if err != nil {
		t.Fatalf("service hvagent start: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.WaitRegistered(ctx); err != nil {
		t.Fatalf("the agent started by rc.d did not register: %v\nservice output:\n%s", err, out)
	}

	out, err = r.service("status")
	if err != nil {
		t.Fatalf("service hvagent status: %v\n%s", err, out)
	}
	b, err := os.ReadFile(r.path("var/run/hvagent.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile %q: %v", b, err)
	}
	if want := fmt.Sprintf("hvagent is running as pid %d.", pid); !strings.Contains(out, want) {
		t.Errorf("service hvagent status said %q, want %q", out, want)
	}
	if _, err := os.Stat(r.path("var/db/hyperv/pool/.kvp_pool_0")); err != nil {
		t.Errorf("the agent in the jail made no pools: %v", err)
	}

	out, err = r.service("stop")
	if err != nil {
		t.Fatalf("service hvagent stop: %v\n%s", err, out)
	}
	for i := 0; i < 300 && k.Registered(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if k.Registered() {
		t.Fatalf("the agent still holds the device after service hvagent stop\n%s", out)
	}
	if out, err := r.service("status"); err == nil {
		t.Errorf("service hvagent status after stop succeeded: %s", out)
	}
}

// pkgABI is the ABI the machine's pkg(8) installs for, e.g.
// FreeBSD:14:amd64, and its major version.
func pkgABI(t *testing.T) (string, int) {
	t.Helper()
	abi := strings.TrimSpace(nativeRun(t, nil, "pkg", "config", "abi"))
	f := strings.Split(abi, ":")
	if len(f) != 3 || f[0] != "FreeBSD" {
		t.Fatalf("pkg config abi = %q, want FreeBSD:MAJOR:ARCH", abi)
	}
	major, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("pkg config abi = %q: %v", abi, err)
	}
	return abi, major
}

// buildPackage builds the agent and its package for this machine with
// cmd/mkpkg, the way "make package" does (the version is the source
// default, which the port's DISTVERSION must equal).
func buildPackage(t *testing.T, dir string, major int) string {
	t.Helper()
	bin := filepath.Join(dir, "hvagent")
	nativeRun(t, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", bin, ".")
	out := nativeRun(t, nil, "go", "run", "../mkpkg", "-root", "../..", "-bin", bin,
		"-arch", runtime.GOARCH, "-version", agent.Version, "-freebsd", strconv.Itoa(major), "-o", dir)
	return strings.TrimSpace(out)
}

// The package built by cmd/mkpkg, added by the real pkg(8) into a root
// of the test's own (pkg -r: files and the package database under it),
// passes "pkg check -s", fails it once a file is changed, and deletes
// cleanly.
func TestNativePkgAddCheckDelete(t *testing.T) {
	nativeNeedTools(t, "pkg", "go")
	nativetest.Need(t, exec.Command("pkg", "-N").Run() == nil, "pkg(8) is not bootstrapped")
	abi, major := pkgABI(t)
	dir := t.TempDir()
	pkgFile := buildPackage(t, dir, major)
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "var/db/pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	// pkg reads its settings from the environment too (pkg.conf(5)):
	// the ABI of the package, no questions, and nothing to the
	// machine's syslog.
	env := []string{"ABI=" + abi, "IGNORE_OSVERSION=yes", "ASSUME_ALWAYS_YES=yes", "SYSLOG=no"}
	pkgRoot := func(args ...string) (string, error) {
		return nativeTry(env, append([]string{"pkg", "-r", root}, args...)...)
	}

	if out, err := pkgRoot("add", pkgFile); err != nil {
		t.Fatalf("pkg -r add %s: %v\n%s", pkgFile, err, out)
	}
	installed := []string{
		"usr/local/sbin/hvagent",
		"usr/local/etc/rc.d/hvagent",
		"usr/local/etc/devd/hvagent.conf",
		"usr/local/share/man/man8/hvagent.8.gz",
		"usr/local/etc/hvagent/web-config.yml", // from the @sample
	}
	for _, p := range installed {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("after pkg add: %v", err)
		}
	}
	if out, err := pkgRoot("check", "-s", "hvagent"); err != nil {
		t.Fatalf("pkg check -s hvagent: %v\n%s", err, out)
	}

	// The check is not vacuous: a changed file fails it.
	conf := filepath.Join(root, "usr/local/etc/devd/hvagent.conf")
	orig, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, append(append([]byte{}, orig...), "# changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := pkgRoot("check", "-s", "hvagent"); err == nil {
		t.Errorf("pkg check -s passed with %s changed:\n%s", conf, out)
	}
	if err := os.WriteFile(conf, orig, 0o444); err != nil {
		t.Fatal(err)
	}

	if out, err := pkgRoot("delete", "-y", "hvagent"); err != nil {
		t.Fatalf("pkg -r delete hvagent: %v\n%s", err, out)
	}
	for _, p := range installed {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("after pkg delete, %s is still there", p)
		}
	}
	if out, err := pkgRoot("info", "-e", "hvagent"); err == nil {
		t.Errorf("after pkg delete, pkg info -e hvagent succeeds: %s", out)
	}
}
