package main

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/netinfo"
)

// systemPaths are the defaults of 'hvagent run' that name a place on the
// system: the set-ip hook, the file handed to it, the VSS hooks
// directory and the pool directory.
type systemPaths struct {
	setIPHook, hookFile, hooksDir, poolDir string
}

// wantPaths: FreeBSD's are the port's, under /usr/local and /var/db;
// Linux's follow the FHS and the Linux daemon's pool directory
// (tools/hv/hv_kvp_daemon.c, KVP_CONFIG_LOC).
var wantPaths = map[string]systemPaths{
	"freebsd": {"/usr/local/libexec/hvagent/set-ip-hook", "/var/db/hvagent/set-ip.conf", "/usr/local/etc/hvagent/vss.d", "/var/db/hyperv/pool"},
	"linux":   {"/usr/libexec/hvagent/set-ip-hook", "/var/lib/hvagent/set-ip.conf", "/etc/hvagent/vss.d", "/var/lib/hyperv"},
}

// TestSystemPathDefaults: each system's defaults are its own, FreeBSD's
// unchanged, and the running system's reach the agent's configuration
// (the hook file included, which is not a flag).
func TestSystemPathDefaults(t *testing.T) {
	poolDirs := map[string]string{"freebsd": kvp.FreeBSDPoolDir, "linux": kvp.LinuxPoolDir}
	for goos, want := range wantPaths {
		hook, file := setIPHookPaths(goos)
		if got := (systemPaths{hook, file, defaultHooksDir(goos), poolDirs[goos]}); got != want {
			t.Errorf("%s: defaults %+v, want %+v", goos, got, want)
		}
	}
	if h, f := setIPHookPaths("freebsd"); h != netinfo.DefaultHook || f != netinfo.DefaultHookFile {
		t.Errorf("FreeBSD's set-ip hook paths %q, %q are not netinfo's defaults", h, f)
	}

	want, ok := wantPaths[runtime.GOOS]
	if !ok {
		want = wantPaths["freebsd"] // every other system gets FreeBSD's
	}
	f, err := parseDaemonFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ipConfig(f.ipFlags, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	got := systemPaths{cfg.Hook, cfg.HookFile, f.vss.hooksDir, f.kvpPoolDir}
	if got != want {
		t.Errorf("hvagent run on %s: %+v, want %+v", runtime.GOOS, got, want)
	}
}

// TestLinuxDefaultsNotFreeBSDs: on Linux no default of 'hvagent run'
// names the FreeBSD port's /usr/local or the FreeBSD-only /var/db.
func TestLinuxDefaultsNotFreeBSDs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the defaults of a Linux build")
	}
	var help strings.Builder
	parseDaemonFlags([]string{"--help"}, &help)
	if !strings.Contains(help.String(), "vss.hooks-dir") {
		t.Fatalf("no flags in the help output:\n%s", help.String())
	}
	for line := range strings.Lines(help.String()) {
		_, def, ok := strings.Cut(line, "(default ")
		if ok && (strings.Contains(def, "/usr/local/") || strings.Contains(def, "/var/db/")) {
			t.Errorf("a FreeBSD default on Linux: %s", strings.TrimSpace(line))
		}
	}
}

// TestManPageSystemPaths: hvagent(8) gives both systems' defaults where
// it describes each: the flags --kvp.set-ip-hook, --vss.hooks-dir and
// --kvp.pool-dir, the set-ip hook's section, and FILES.
func TestManPageSystemPaths(t *testing.T) {
	b, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	item := func(flag string) string {
		body := section(t, lines, "DESCRIPTION")
		for i, l := range body {
			if l == ".It Fl -"+flag+" Ar dir" || l == ".It Fl -"+flag+" Ar path" {
				end := i + 1
				for end < len(body) && !strings.HasPrefix(body[end], ".It Fl ") {
					end++
				}
				return strings.Join(body[i:end], "\n")
			}
		}
		t.Fatalf("DESCRIPTION has no item for --%s", flag)
		return ""
	}
	sub := func(name string) string {
		start := strings.Index(string(b), ".Ss "+name+"\n")
		if start < 0 {
			t.Fatalf("no subsection %s", name)
		}
		rest := string(b)[start+1:]
		if end := strings.Index(rest, "\n.S"); end >= 0 {
			rest = rest[:end]
		}
		return rest
	}
	files := strings.Join(section(t, lines, "FILES"), "\n")
	for _, goos := range []string{"freebsd", "linux"} {
		p := wantPaths[goos]
		for _, c := range []struct{ where, text, path string }{
			{"--kvp.set-ip-hook", item("kvp.set-ip-hook"), p.setIPHook},
			{"--vss.hooks-dir", item("vss.hooks-dir"), p.hooksDir},
			{"--kvp.pool-dir", item("kvp.pool-dir"), p.poolDir},
			{"The set-ip hook", sub("The set-ip hook"), p.setIPHook},
			{"The set-ip hook", sub("The set-ip hook"), p.hookFile},
			{"FILES", files, ".It Pa " + p.setIPHook},
			{"FILES", files, ".It Pa " + p.hookFile},
			{"FILES", files, ".It Pa " + p.hooksDir + "/"},
			{"FILES", files, ".It Pa " + p.poolDir + "/"},
		} {
			if !strings.Contains(c.text, c.path) {
				t.Errorf("hvagent(8), %s: does not name %s's %s", c.where, goos, c.path)
			}
		}
	}
}
