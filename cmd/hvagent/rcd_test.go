package main

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The rc.d script of the FreeBSD port, and the fake rc.subr that runs it on
// any system (see the comment at its top).
const (
	rcScript   = "../../packaging/freebsd/sysutils/hvagent/files/hvagent.in"
	devdConf   = "../../packaging/freebsd/sysutils/hvagent/files/devd-hvagent.conf.in"
	fakeRCSubr = "../../packaging/freebsd/testdata/rc.subr"
)

// daemonArgv is what every start runs before the agent's own arguments:
// daemon(8) restarting the agent (-r), its own pid in the pidfile that
// rc.subr stops (-P), the agent's pid for reload (-p), output to syslog,
// and the agent installed under prefix.
func daemonArgv(prefix string) []string {
	return []string{"/usr/sbin/daemon", "-r", "-P", "/var/run/hvagent.pid",
		"-p", "/var/run/hvagent.child.pid", "-S", "-T", "hvagent", prefix + "/sbin/hvagent", "run"}
}

// rcEnv is one run of the rc.d script under the fake rc.subr, installed
// with a prefix in a temporary directory where the agent is the binary
// built for these tests, so the script asks the real agent which
// subsystems it serves.
type rcEnv struct {
	dir, script, root, prefix string
}

func newRCEnv(t *testing.T) *rcEnv {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skipf("no sh on PATH: %v", err)
	}
	dir := t.TempDir()
	e := &rcEnv{dir: dir, script: filepath.Join(dir, "hvagent"), root: filepath.Join(dir, "root")}
	e.prefix = filepath.Join(e.root, "usr/local")
	src, err := os.ReadFile(rcScript)
	if err != nil {
		t.Fatal(err)
	}
	subr, err := filepath.Abs(fakeRCSubr)
	if err != nil {
		t.Fatal(err)
	}
	// What the port does at install (SUB_LIST), and the fake rc.subr in
	// place of /etc/rc.subr.
	s := strings.ReplaceAll(string(src), "%%PREFIX%%", e.prefix)
	if !strings.Contains(s, "\n. /etc/rc.subr\n") {
		t.Fatal("the rc.d script does not source /etc/rc.subr")
	}
	s = strings.Replace(s, "\n. /etc/rc.subr\n", "\n. "+subr+"\n", 1)
	// The base system's devd rules, in the test's directory.
	if !strings.Contains(s, "/etc/devd/hyperv.conf") {
		t.Fatal("the rc.d script does not look at /etc/devd/hyperv.conf")
	}
	s = strings.ReplaceAll(s, "/etc/devd/hyperv.conf", filepath.Join(e.root, "etc/devd/hyperv.conf"))
	writeFile(t, e.script, s, 0o755)
	if err := os.MkdirAll(filepath.Join(e.prefix, "sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(agentBin, filepath.Join(e.prefix, "sbin/hvagent")); err != nil {
		t.Fatal(err)
	}
	// Fake pgrep, pkill and pwait: the processes in FAKE_RUNNING run,
	// the n-th with pid 100+n; pkill and pwait record their arguments;
	// pwait times out (status 124) when FAKE_PWAIT_TIMEOUT is set.
	bin := filepath.Join(dir, "bin")
	writeFile(t, filepath.Join(bin, "pgrep"), `#!/bin/sh
for last; do :; done
n=100
for p in $FAKE_RUNNING; do
	n=$((n + 1))
	[ "$p" = "$last" ] && { echo "$n"; exit 0; }
done
exit 1
`, 0o755)
	writeFile(t, filepath.Join(bin, "pkill"), "#!/bin/sh\necho \"pkill $*\" >> \"$FAKE_KILLED\"\n", 0o755)
	writeFile(t, filepath.Join(bin, "pwait"), `#!/bin/sh
echo "pwait $*" >> "$FAKE_KILLED"
[ -n "$FAKE_PWAIT_TIMEOUT" ] && exit 124
exit 0
`, 0o755)
	return e
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// run runs "hvagent arg" with rcConf as /etc/rc.conf and running as the
// processes that exist. It returns the words of the command the script
// would start (nil if none), the pkill and pwait calls in order, and the
// script's output. env is added to the script's environment.
func (e *rcEnv) run(t *testing.T, arg, rcConf, running string, env ...string) (argv, killed []string, out string) {
	t.Helper()
	argv, killed, out, err := e.runStatus(t, arg, rcConf, running, env...)
	if err != nil {
		t.Fatalf("sh hvagent %s: %v\n%s", arg, err, out)
	}
	return argv, killed, out
}

// runStatus is run that returns the script's failure instead of failing
// the test.
func (e *rcEnv) runStatus(t *testing.T, arg, rcConf, running string, env ...string) (argv, killed []string, out string, err error) {
	t.Helper()
	conf := filepath.Join(e.dir, "rc.conf")
	outFile := filepath.Join(e.dir, "argv")
	killFile := filepath.Join(e.dir, "killed")
	os.Remove(outFile)
	os.Remove(killFile)
	writeFile(t, conf, rcConf, 0o644)
	cmd := exec.Command("sh", e.script, arg)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(e.dir, "bin")+":"+os.Getenv("PATH"),
		"RC_CONF="+conf, "RC_OUT="+outFile, "RC_ROOT="+e.root,
		"FAKE_RUNNING="+running, "FAKE_KILLED="+killFile)
	cmd.Env = append(cmd.Env, env...)
	b, err := cmd.CombinedOutput()
	if w, rerr := os.ReadFile(outFile); rerr == nil {
		argv = strings.Split(strings.TrimSuffix(string(w), "\n"), "\n")
	}
	if k, rerr := os.ReadFile(killFile); rerr == nil {
		killed = strings.Split(strings.TrimSuffix(string(k), "\n"), "\n")
	}
	return argv, killed, string(b), err
}

// TestRCScriptStart runs the rc.d script's start for a few rc.conf
// settings and checks the command line it would run, that the real flag
// parser of "hvagent run" accepts the agent's part of it, and which base
// daemons it stops.
func TestRCScriptStart(t *testing.T) {
	e := newRCEnv(t)
	// The flag parser validates --web.config.file: a file it accepts.
	webConf := filepath.Join(t.TempDir(), "web-config.yml")
	writeFile(t, webConf, "basic_auth_users: {}\n", 0o600)
	runFlags := runFlagNames(t)
	// The script stops a base daemon only if this build serves its device.
	var both []string
	// Each stop is followed by a wait for that daemon's pid (fake pgrep:
	// 101 and 102 for "hv_kvp_daemon hv_vss_daemon").
	for _, d := range []struct{ daemon, flag, pid string }{{"hv_kvp_daemon", "kvp.device", "101"}, {"hv_vss_daemon", "vss.device", "102"}} {
		if slices.Contains(runFlags, d.flag) {
			both = append(both, "pkill -j none -x "+d.daemon, "pwait -t 10 "+d.pid)
		}
	}
	tests := []struct {
		name    string
		rcConf  string
		running string
		want    []string // the agent's arguments after "run"; nil: nothing started
		killed  []string
		check   func(t *testing.T, f *daemonFlags)
	}{{
		name:   "defaults",
		rcConf: `hvagent_enable="YES"`,
		want:   []string{"--log.level=info", "--web.listen-address=:9855"},
		check: func(t *testing.T, f *daemonFlags) {
			if f.listen != ":9855" || f.disable != nil || f.logLevel != slog.LevelInfo {
				t.Errorf("parsed %+v", *f)
			}
		},
	}, {
		name: "knobs, and takeover of the base KVP daemon only",
		rcConf: `hvagent_enable="YES"
hvagent_listen="127.0.0.1:9100"
hvagent_web_config="` + webConf + `"
hvagent_disable="vss,vf"
hvagent_log_level="debug"
hvagent_flags="--kvp.pool-dir=/var/db/kvp --log.syslog=false"`,
		running: "hv_kvp_daemon hv_vss_daemon",
		want: []string{"--log.level=debug", "--web.listen-address=127.0.0.1:9100",
			"--web.config.file=" + webConf, "--disable=vss,vf",
			"--kvp.pool-dir=/var/db/kvp", "--log.syslog=false"},
		killed: []string{"pkill -j none -x hv_kvp_daemon", "pwait -t 10 101"},
		check: func(t *testing.T, f *daemonFlags) {
			if f.listen != "127.0.0.1:9100" || f.webConfig != webConf ||
				!slices.Equal(f.disable, []string{"vss", "vf"}) || f.logLevel != slog.LevelDebug || f.kvpPoolDir != "/var/db/kvp" {
				t.Errorf("parsed %+v", *f)
			}
		},
	}, {
		name:    "takeover of both base daemons",
		rcConf:  `hvagent_enable="YES"`,
		running: "hv_kvp_daemon hv_vss_daemon",
		want:    []string{"--log.level=info", "--web.listen-address=:9855"},
		killed:  both,
	}, {
		name: "no metrics, no takeover",
		rcConf: `hvagent_enable="yes"
hvagent_listen=""
hvagent_takeover="NO"`,
		running: "hv_kvp_daemon",
		want:    []string{"--log.level=info", "--web.listen-address="},
		check: func(t *testing.T, f *daemonFlags) {
			if f.listen != "" {
				t.Errorf("listen = %q, want empty (no metrics server)", f.listen)
			}
		},
	}, {
		name:   "VF mode",
		rcConf: "hvagent_enable=YES\nhvagent_vf_mode=observe",
		want:   []string{"--log.level=info", "--web.listen-address=:9855", "--vf.mode=observe"},
	}, {
		name:    "not enabled",
		rcConf:  `hvagent_enable="NO"`,
		running: "hv_kvp_daemon",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, killed, out := e.run(t, "start", tt.rcConf, tt.running)
			t.Logf("script output:\n%s", out)
			if tt.want == nil {
				if argv != nil {
					t.Fatalf("started %q, want nothing started", argv)
				}
				if killed != nil {
					t.Errorf("killed %q while not enabled", killed)
				}
				return
			}
			want := append(daemonArgv(e.prefix), tt.want...)
			if !slices.Equal(argv, want) {
				t.Errorf("command line:\n got %q\nwant %q", argv, want)
			}
			if !slices.Equal(killed, tt.killed) {
				t.Errorf("pkill and pwait calls = %q, want %q", killed, tt.killed)
			}
			agentArgs := argv[min(len(daemonArgv(e.prefix)), len(argv)):]
			for _, a := range agentArgs {
				name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
				if !slices.Contains(runFlags, name) {
					t.Logf("'hvagent run' of this build has no --%s: not parsing %q", name, agentArgs)
					return
				}
			}
			var stderr bytes.Buffer
			f, err := parseDaemonFlags(agentArgs, &stderr)
			if err != nil {
				t.Fatalf("hvagent run rejects the arguments %q: %v\n%s", agentArgs, err, stderr.String())
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// TestRCScriptTakeoverFollowsBuild checks that the script stops a base
// daemon only when the installed agent serves its device: with an agent
// whose help lists --kvp.device and --vss.device it stops both, with one
// that lists neither it stops none.
func TestRCScriptTakeoverFollowsBuild(t *testing.T) {
	e := newRCEnv(t)
	bin := filepath.Join(e.prefix, "sbin/hvagent")
	for _, tt := range []struct {
		help   string
		killed []string
	}{
		{`  -kvp.device string\n  -vss.device string`, []string{"pkill -j none -x hv_kvp_daemon", "pwait -t 10 101",
			"pkill -j none -x hv_vss_daemon", "pwait -t 10 102"}},
		{`  -web.listen-address string`, nil},
	} {
		os.Remove(bin)
		writeFile(t, bin, "#!/bin/sh\nprintf '%b\\n' '"+tt.help+"' >&2\n", 0o755)
		_, killed, out := e.run(t, "start", `hvagent_enable="YES"`, "hv_kvp_daemon hv_vss_daemon")
		if !slices.Equal(killed, tt.killed) {
			t.Errorf("agent help %q: pkill calls %q, want %q\n%s", tt.help, killed, tt.killed, out)
		}
	}
}

// TestRCScriptRejectsBadFlags checks that start refuses, before stopping
// anything, rc.conf settings the agent's flag parser rejects, rather than
// leave daemon(8) restarting a failing agent every second.
func TestRCScriptRejectsBadFlags(t *testing.T) {
	e := newRCEnv(t)
	for _, tt := range []struct{ rcConf, msg string }{
		{"hvagent_enable=YES\nhvagent_flags=--no-such-flag", "-no-such-flag"},
		{"hvagent_enable=YES\nhvagent_flags=operand", `unexpected argument "operand"`},
		{"hvagent_enable=YES\nhvagent_flags=--vss.max-frozen=soon", `invalid value "soon"`},
		// Bad values, not only bad syntax: each must fail although
		// --help follows it.
		{"hvagent_enable=YES\nhvagent_disable=foo", `unknown subsystem "foo"`},
		{"hvagent_enable=YES\nhvagent_flags=--vss.zfs=freeze", `unknown ZFS policy "freeze"`},
		{"hvagent_enable=YES\nhvagent_flags=--vf.mode=bogus", `unknown VF mode "bogus"`},
		{"hvagent_enable=YES\nhvagent_log_level=trace", `unknown log level "trace"`},
		{"hvagent_enable=YES\nhvagent_flags=--vss.max-frozen=0s", `-vss.max-frozen: 0s must be positive`},
		{"hvagent_enable=YES\nhvagent_flags=--vss.include=var", `"var" is not an absolute mount point`},
		{"hvagent_enable=YES\nhvagent_web_config=/nonexistent/web-config.yml", `-web.config.file`},
	} {
		argv, killed, out, err := e.runStatus(t, "start", tt.rcConf, "hv_kvp_daemon hv_vss_daemon")
		if err == nil {
			t.Errorf("%q: start succeeded; want it to fail", tt.rcConf)
		}
		if argv != nil || killed != nil {
			t.Errorf("%q: started %q, killed %q; want nothing\n%s", tt.rcConf, argv, killed, out)
		}
		if !strings.Contains(out, "hvagent: rc.conf settings rejected:") || !strings.Contains(out, tt.msg) {
			t.Errorf("%q: output lacks the parser's complaint %q:\n%s", tt.rcConf, tt.msg, out)
		}
	}
	// Quoted words reach the agent as one argument, as rc.subr's eval
	// hands them to daemon(8).
	argv, _, out := e.run(t, "start", "hvagent_enable=YES\nhvagent_flags='--vss.exclude=\"/a b,/c\"'", "")
	if argv == nil || argv[len(argv)-1] != "--vss.exclude=/a b,/c" {
		t.Errorf("quoted flag: started %q\n%s", argv, out)
	}
}

// TestRCScriptTakeoverWaitsBounded checks that start waits for the base
// daemon it stopped, and that a daemon which outlives the wait costs a
// warning, not the start.
func TestRCScriptTakeoverWaitsBounded(t *testing.T) {
	e := newRCEnv(t)
	if !slices.Contains(runFlagNames(t), "kvp.device") {
		t.Skip("this build of the agent has no kvp subsystem")
	}
	conf := "hvagent_enable=YES\nhvagent_disable=vss"
	argv, killed, out := e.run(t, "start", conf, "hv_kvp_daemon")
	want := []string{"pkill -j none -x hv_kvp_daemon", "pwait -t 10 101"}
	if !slices.Equal(killed, want) || argv == nil {
		t.Fatalf("calls %q (want %q), started %q\n%s", killed, want, argv, out)
	}
	if strings.Contains(out, "WARNING") {
		t.Errorf("warning although the daemon exited in time:\n%s", out)
	}
	argv, killed, out = e.run(t, "start", conf, "hv_kvp_daemon", "FAKE_PWAIT_TIMEOUT=1")
	if !slices.Equal(killed, want) || argv == nil {
		t.Fatalf("after a timeout: calls %q (want %q), started %q\n%s", killed, want, argv, out)
	}
	if !strings.Contains(out, "WARNING: hv_kvp_daemon (pid 101) has not exited after 10 seconds") {
		t.Errorf("no warning after the wait timed out:\n%s", out)
	}
}

// devdRule is one notify statement of a devd.conf(5) file.
type devdRule struct {
	priority int
	match    map[string]string
	action   string
}

// parseDevdRules reads the notify statements of the port's devd file:
// the subset of devd.conf(5) it uses.
func parseDevdRules(t *testing.T, s string) []devdRule {
	t.Helper()
	var rules []devdRule
	var cur *devdRule
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case len(f) == 3 && f[0] == "notify" && f[2] == "{":
			p, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("devd file: %q", line)
			}
			rules = append(rules, devdRule{priority: p, match: map[string]string{}})
			cur = &rules[len(rules)-1]
		case cur != nil && len(f) == 3 && f[0] == "match":
			cur.match[strings.Trim(f[1], `"`)] = strings.Trim(f[2], `";`)
		case cur != nil && strings.HasPrefix(line, "action "):
			a, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "action "), ";"))
			if err != nil {
				t.Fatalf("devd file: %q: %v", line, err)
			}
			cur.action = a
		case line == "};":
			cur = nil
		default:
			t.Fatalf("devd file: %q is not understood", line)
		}
	}
	return rules
}

// TestDevdRulesKeepBaseDaemonsAway checks the devd(8) rules the package
// installs: one for the creation of each device, above the base system's
// priority (10 and 11 in /etc/devd/hyperv.conf) so devd runs it instead
// of the base rule; and, running each action with sh as devd does
// against the rc.d script under the fake rc.subr, that the base daemon is
// started exactly when hvagent does not take its device over.
func TestDevdRulesKeepBaseDaemonsAway(t *testing.T) {
	e := newRCEnv(t)
	runFlags := runFlagNames(t)
	src, err := os.ReadFile(devdConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(src), "%%PREFIX%%", e.prefix)
	if strings.Contains(conf, "%%") {
		t.Fatal("the devd file has substitutions other than %%PREFIX%%")
	}
	rules := parseDevdRules(t, conf)
	// The rc.d script where the package installs it.
	installed := filepath.Join(e.prefix, "etc/rc.d/hvagent")
	writeFile(t, installed, "", 0o755)
	if err := os.Remove(installed); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.script, installed); err != nil {
		t.Fatal(err)
	}
	// The base daemons, as fakes that record that they were started.
	started := filepath.Join(e.dir, "started")
	fakeSbin := filepath.Join(e.dir, "sbin")
	for _, d := range []string{"hv_kvp_daemon", "hv_vss_daemon"} {
		writeFile(t, filepath.Join(fakeSbin, d), "#!/bin/sh\necho "+d+" >> \""+started+"\"\n", 0o755)
	}
	devices := map[string]struct{ daemon, sub string }{
		"hv_kvp_dev": {"hv_kvp_daemon", "kvp"}, "hv_fsvss_dev": {"hv_vss_daemon", "vss"},
	}
	seen := map[string]bool{}
	for _, r := range rules {
		d, ok := devices[r.match["cdev"]]
		if !ok || r.match["system"] != "DEVFS" || r.match["subsystem"] != "CDEV" || r.match["type"] != "CREATE" {
			t.Errorf("rule %+v: not the creation of a KVP or VSS device", r)
			continue
		}
		seen[r.match["cdev"]] = true
		if r.priority <= 11 {
			t.Errorf("%s: priority %d does not override the base rule (10, 11)", r.match["cdev"], r.priority)
		}
		action := strings.ReplaceAll(r.action, "/usr/sbin/", fakeSbin+"/")
		served := slices.Contains(runFlags, d.sub+".device")
		for _, tt := range []struct {
			rcConf   string
			takeover bool // hvagent takes the device (if this build serves it)
			noScript bool // the rc.d script is gone
		}{
			{`hvagent_enable="YES"`, false, true},
			{`hvagent_enable="YES"`, true, false},
			{`hvagent_enable="NO"`, false, false},
			{"", false, false},
			{"hvagent_enable=YES\nhvagent_takeover=NO", false, false},
			{"hvagent_enable=YES\nhvagent_disable=" + d.sub, false, false},
			{"hvagent_enable=YES\nhvagent_disable=vf", true, false},
		} {
			os.Remove(started)
			os.Remove(installed)
			if !tt.noScript {
				if err := os.Symlink(e.script, installed); err != nil {
					t.Fatal(err)
				}
			}
			rcConf := filepath.Join(e.dir, "rc.conf")
			writeFile(t, rcConf, tt.rcConf, 0o644)
			cmd := exec.Command("sh", "-c", action)
			cmd.Env = append(os.Environ(), "RC_CONF="+rcConf, "RC_ROOT="+e.root)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s with %q: %v\n%s", action, tt.rcConf, err, out)
			}
			b, _ := os.ReadFile(started)
			wantBase := !(tt.takeover && served)
			if gotBase := strings.TrimSpace(string(b)) == d.daemon; gotBase != wantBase {
				t.Errorf("%s created, rc.conf %q, rc.d script gone %v: base daemon started %v, want %v\n%s",
					r.match["cdev"], tt.rcConf, tt.noScript, gotBase, wantBase, out)
			}
		}
	}
	for cdev := range devices {
		if !seen[cdev] {
			t.Errorf("no rule for the creation of %s", cdev)
		}
	}
}

// TestRCScriptDevdWarning checks that start warns while devd's rule for
// a base daemon the agent replaces is active, and not once it is
// commented out the way the man page says.
func TestRCScriptDevdWarning(t *testing.T) {
	e := newRCEnv(t)
	conf := filepath.Join(e.root, "etc/devd/hyperv.conf")
	rule := "notify 10 {\n\tmatch \"cdev\"\t\t\"hv_kvp_dev\";\n\taction \"/usr/sbin/hv_kvp_daemon\";\n};\n"
	writeFile(t, conf, rule, 0o644)
	_, _, out := e.run(t, "start", `hvagent_enable="YES"`, "")
	if !strings.Contains(out, "WARNING: devd(8) starts hv_kvp_daemon") {
		t.Errorf("no warning with the devd rule active:\n%s", out)
	}
	sed := exec.Command("sed", "-e", `s|^\([[:space:]]*action "/usr/sbin/hv_kvp_daemon";\)|#\1|`, conf)
	commented, err := sed.Output()
	if err != nil {
		t.Skipf("sed: %v", err)
	}
	writeFile(t, conf, string(commented), 0o644)
	_, _, out = e.run(t, "start", `hvagent_enable="YES"`, "")
	if strings.Contains(out, "WARNING") {
		t.Errorf("warning with the rule commented out:\n%s\n%s", out, commented)
	}
	// The base rule active, but overridden by the package's devd file.
	writeFile(t, conf, rule, 0o644)
	writeFile(t, filepath.Join(e.prefix, "etc/devd/hvagent.conf"), "", 0o644)
	_, _, out = e.run(t, "start", `hvagent_enable="YES"`, "")
	if strings.Contains(out, "WARNING") {
		t.Errorf("warning although the package's devd rules override the base rule:\n%s", out)
	}
}

// TestRCScriptReload checks that reload sends SIGHUP to the agent, whose
// pid daemon(8) writes to the child pidfile, and not to daemon(8) itself,
// which would pass it on to nothing.
func TestRCScriptReload(t *testing.T) {
	e := newRCEnv(t)
	agent := startHupCatcher(t, filepath.Join(e.dir, "agent.hup"))
	supervisor := startHupCatcher(t, filepath.Join(e.dir, "daemon.hup"))
	writeFile(t, filepath.Join(e.root, "var/run/hvagent.child.pid"), strconv.Itoa(agent)+"\n", 0o644)
	writeFile(t, filepath.Join(e.root, "var/run/hvagent.pid"), strconv.Itoa(supervisor)+"\n", 0o644)
	_, _, out := e.run(t, "reload", `hvagent_enable="YES"`, "")
	if !waitFile(filepath.Join(e.dir, "agent.hup")) {
		t.Errorf("the agent's process got no SIGHUP\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "daemon.hup")); err == nil {
		t.Error("daemon(8)'s process got SIGHUP; reload must signal the agent")
	}

	os.Remove(filepath.Join(e.root, "var/run/hvagent.child.pid"))
	cmd := exec.Command("sh", e.script, "reload")
	cmd.Env = append(os.Environ(), "RC_CONF="+filepath.Join(e.dir, "rc.conf"), "RC_ROOT="+e.root)
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "not running") {
		t.Errorf("reload without the agent: %v, %q; want a failure saying 'not running'", err, b)
	}
}

// startHupCatcher starts a process that creates marker when it gets
// SIGHUP, and returns its pid.
func startHupCatcher(t *testing.T, marker string) int {
	t.Helper()
	ready := marker + ".ready"
	c := exec.Command("sh", "-c", `trap 'echo > "$1"; exit 0' HUP; echo > "$2"; while :; do sleep 1; done`, "sh", marker, ready)
	if err := c.Start(); err != nil {
		t.Fatalf("starting sh: %v", err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
	if !waitFile(ready) {
		t.Fatal("the signal catcher did not start")
	}
	return c.Process.Pid
}

// waitFile waits up to 10 s for path to exist.
func waitFile(path string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
	}
	return false
}

// shellScripts are the shell scripts the package installs, as rendered
// for installation (%%PREFIX%% replaced).
var shellScripts = []string{rcScript, vssHookSample}

// vssHookSample is the example VSS hook installed in vss.d.
const vssHookSample = "../../packaging/vss.d/50-postgresql-checkpoint.sample"

// TestShellcheck runs shellcheck -s sh over the installed shell scripts.
// Without shellcheck the test is skipped, except in CI, which installs it.
func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shellcheck is not on PATH, and CI must install it: %v", err)
		}
		t.Skipf("shellcheck is not on PATH (%v); install shellcheck to check the scripts", err)
	}
	for _, path := range shellScripts {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rendered := filepath.Join(t.TempDir(), filepath.Base(path))
		writeFile(t, rendered, strings.ReplaceAll(string(src), "%%PREFIX%%", "/usr/local"), 0o644)
		out, err := exec.Command(sc, "-s", "sh", rendered).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("shellcheck -s sh %s: %v\n%s", path, err, out)
		}
	}
}
