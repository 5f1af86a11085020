package linuxunit

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/gotool"
)

// need returns the path of a tool the test needs; without it the test is
// skipped, except under CI=true, where .ci/run installs the package.
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not on PATH, and CI must install it (Debian package %s): %v", tool, pkg, err)
		}
		t.Skipf("%s is not on PATH (%v); install %s to run this test", tool, err, pkg)
	}
	return p
}

// buildAgent builds cmd/hvagent as it is shipped (no cgo) into path.
func buildAgent(t *testing.T, path string) {
	t.Helper()
	goCmd, err := gotool.Path()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "build", "-trimpath", "-o", path, "github.com/hvagent/hvagent/cmd/hvagent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/hvagent: %v\n%s", err, out)
	}
}

func run(t *testing.T, env []string, argv ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on the unit as
// shipped, in a root directory that holds what the unit names: the agent
// built as released at /usr/sbin/hvagent, this machine's copy of the
// other commands it runs, this machine's unit files (so that ordering
// against sysinit.target and the rest is checked against real units),
// the unit itself as an administrator installs it, enabled, and the man
// page its Documentation= names.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa := need(t, "systemd-analyze", "systemd")
	src, u := readUnit(t)
	root := t.TempDir()
	buildAgent(t, filepath.Join(root, "usr/sbin/hvagent"))
	for _, key := range []string{"ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"} {
		for _, v := range u.values("Service", key) {
			bin := strings.TrimLeft(strings.Fields(v)[0], "-@:+!")
			if bin == "/usr/sbin/hvagent" {
				continue
			}
			b, err := os.ReadFile(bin)
			if errors.Is(err, fs.ErrNotExist) {
				need(t, bin, "the package that has it (procps for /bin/kill)")
			}
			if err != nil {
				t.Fatalf("%s=%s: %v", key, v, err)
			}
			writeFile(t, filepath.Join(root, bin), b, 0o755)
		}
	}
	systemDir := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(systemDir, "sysinit.target")); err != nil {
		systemDir = "/lib/systemd/system"
	}
	if _, err := os.Stat(filepath.Join(systemDir, "sysinit.target")); err != nil {
		t.Fatalf("no sysinit.target in /usr/lib/systemd/system or /lib/systemd/system: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, nil, "cp", "-a", systemDir, filepath.Join(root, "usr/lib/systemd/system")); err != nil {
		t.Fatalf("copying %s: %v\n%s", systemDir, err, out)
	}
	// Aliases among those units may point into /lib (merged /usr).
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(root, "etc/systemd/system/hvagent.service")
	writeFile(t, unit, []byte(src), 0o644)
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/systemd/system/hvagent.service", filepath.Join(wants, "hvagent.service")); err != nil {
		t.Fatal(err)
	}

	// Documentation=man:hvagent(8) is checked with man(1), which finds
	// the page in MANPATH. Without man, verify cannot check it; the
	// page's presence is then checked here.
	var env []string
	manFlag := "--man=yes"
	if _, err := exec.LookPath("man"); err == nil {
		page, err := os.ReadFile(manPage)
		if err != nil {
			t.Fatal(err)
		}
		manDir := t.TempDir()
		writeFile(t, filepath.Join(manDir, "man8", "hvagent.8"), page, 0o644)
		env = append(env, "MANPATH="+manDir)
	} else {
		manFlag = "--man=no"
		if doc, _ := u.last("Unit", "Documentation"); doc != "man:hvagent(8)" {
			t.Errorf("Documentation=%s, want man:hvagent(8)", doc)
		}
		if _, err := os.Stat(manPage); err != nil {
			t.Errorf("Documentation= names hvagent(8): %v", err)
		}
		t.Logf("man is not on PATH: verifying with --man=no; %s exists", manPage)
	}

	t.Run("unit", func(t *testing.T) {
		out, err := run(t, env, sa, "verify", manFlag, "--root="+root, unit)
		if err != nil || out != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
		}
	})

	// The boot transaction with the unit enabled: systemd breaks an
	// ordering cycle by dropping a job and still exits 0, so the log
	// is read for it, and for the agent's start job.
	t.Run("boot transaction", func(t *testing.T) {
		out, err := run(t, append(env, "SYSTEMD_LOG_LEVEL=debug"), sa, "verify", "--man=no", "--root="+root, "multi-user.target")
		if err != nil {
			t.Errorf("systemd-analyze verify multi-user.target: %v\n%s", err, out)
		}
		if strings.Contains(out, "ordering cycle") {
			t.Errorf("the boot transaction with hvagent.service enabled has an ordering cycle:\n%s", grepLines(out, "cycle"))
		}
		if !strings.Contains(out, "Installed new job hvagent.service/start") {
			t.Errorf("multi-user.target does not start hvagent.service; has the debug log's format changed?\n%s", grepLines(out, "hvagent"))
		}
	})

	// What systemd itself reads from the unit (its debug dump of the
	// loaded unit), against what the agent's work needs.
	t.Run("as systemd reads it", func(t *testing.T) {
		out, _ := run(t, append(env, "SYSTEMD_LOG_LEVEL=debug"), sa, "verify", manFlag, "--root="+root, unit)
		dump := unitDump(out, "hvagent.service")
		if len(dump) == 0 {
			t.Fatalf("no dump of hvagent.service in systemd-analyze's debug output; has its format changed?\n%s", out)
		}
		if len(dump["CapabilityBoundingSet"]) != 1 {
			t.Fatalf("systemd's dump has CapabilityBoundingSet %q; has its format changed?", dump["CapabilityBoundingSet"])
		}
		caps := strings.Fields(dump["CapabilityBoundingSet"][0])
		for _, c := range []string{"cap_sys_admin", "cap_net_admin", "cap_setuid", "cap_setgid", "cap_sys_ptrace"} {
			if !slices.Contains(caps, c) {
				t.Errorf("systemd's bounding set lacks %s: %v", c, caps)
			}
		}
		for key, want := range map[string]string{
			"KillMode": "control-group", "KillSignal": "SIGTERM", "Restart": "on-failure",
			"DefaultDependencies": "no", "ProtectSystem": "no", "ProtectHome": "no",
			"PrivateTmp": "no", "ProtectHostname": "no", "DevicePolicy": "auto",
		} {
			if got := dump[key]; len(got) != 1 || got[0] != want {
				t.Errorf("systemd reads %s: %q, want %q", key, got, want)
			}
		}
		if !slices.Contains(dump["Before"], "sysinit.target (origin-file)") {
			t.Errorf("systemd reads Before: %q, want sysinit.target among them", dump["Before"])
		}
	})
}

// unitDump reads the "-> Unit NAME:" block of systemd's debug dump: each
// "Key: value" line under it, a key listed once per value.
func unitDump(out, name string) map[string][]string {
	dump := map[string][]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "-> Unit ") {
			in = strings.TrimSpace(line) == "-> Unit "+name+":"
			continue
		}
		if !in || !strings.HasPrefix(line, "\t\t") || strings.HasPrefix(line, "\t\t\t") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			dump[k] = append(dump[k], v)
		}
	}
	return dump
}

func grepLines(out, word string) string {
	var b bytes.Buffer
	for line := range strings.Lines(out) {
		if strings.Contains(line, word) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

// TestDefaultFileFlags runs the agent's own flag parser ("hvagent run
// FLAGS --help" exits 0 only if every flag parses) on the command line
// systemd builds from ExecStart= and /etc/default/hvagent: the value the
// file sets and each example it offers.
func TestDefaultFileFlags(t *testing.T) {
	_, u := readUnit(t)
	b, err := os.ReadFile(defaultPath)
	if err != nil {
		t.Fatal(err)
	}
	assign := regexp.MustCompile(`^(#?)HVAGENT_FLAGS=(.*)$`)
	var values []string
	set := 0
	for line := range strings.Lines(string(b)) {
		m := assign.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		v, err := strconv.Unquote(m[2])
		if err != nil || strings.ContainsAny(v, `\"'`) {
			t.Fatalf("%s: %q: want a double-quoted value without quotes or backslashes in it", defaultPath, line)
		}
		if m[1] == "" {
			set++
		}
		values = append(values, v)
	}
	if set != 1 || len(values) < 3 {
		t.Fatalf("%s: %d active HVAGENT_FLAGS= and %d in all; want one active and examples", defaultPath, set, len(values))
	}
	execStart, _ := u.last("Service", "ExecStart")
	agentPath := filepath.Join(t.TempDir(), "hvagent")
	buildAgent(t, agentPath)
	for _, v := range values {
		// systemd replaces the word $HVAGENT_FLAGS with the value split
		// at whitespace (systemd.service(5), Command lines).
		var argv []string
		for _, w := range strings.Fields(execStart) {
			if w == "$HVAGENT_FLAGS" {
				argv = append(argv, strings.Fields(v)...)
			} else {
				argv = append(argv, w)
			}
		}
		argv[0] = agentPath
		if out, err := run(t, nil, append(argv, "--help")...); err != nil {
			t.Errorf("HVAGENT_FLAGS=%q: %s rejects it: %v\n%s", v, execStart, err, firstLine(out))
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
