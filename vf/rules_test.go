package vf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/command/commandtest"
)

// hvagentDevdRules is the package's devd file, installed as
// /usr/local/etc/devd/hvagent.conf with %%PREFIX%% = /usr/local.
const hvagentDevdRules = "../packaging/freebsd/sysutils/hvagent/files/devd-hvagent.conf.in"

const (
	baseVFUp = "notify 10 {\n\tmatch \"system\"\t\t\"HYPERV_NIC_VF\";\n\tmatch \"type\"\t\t\"VF_UP\";\n" +
		"\taction \"/usr/libexec/hyperv/hyperv_vfup $subsystem\";\n};\n"
	baseVFAttach = "notify 10 {\n\tmatch \"system\"\t\t\"ETHERNET\";\n\tmatch \"type\"\t\t\"IFATTACH\";\n" +
		"\taction \"/usr/libexec/hyperv/hyperv_vfattach $subsystem 0\";\n};\n"
	baseVF = baseVFUp + "\n" + baseVFAttach
	// shadowVF is the usual devd override: rules of higher priority that
	// match the same events and do nothing.
	shadowVF = "notify 20 {\n\tmatch \"system\" \"ETHERNET\";\n\tmatch \"type\" \"IFATTACH\";\n};\n" +
		"notify 20 {\n\tmatch \"system\" \"HYPERV_NIC_VF\";\n\tmatch \"type\" \"VF_UP\";\n};\n"
)

// issueCases: devd configurations (devd.conf, and files of the
// directories it names) and whether devd runs a base VF script.
var issueCases = []struct {
	name   string
	conf   string
	files  map[string]string
	active bool
}{
	{"the base VF rules", baseVF, nil, true},
	{"action string on the next line (issue 12/9)",
		"notify 10 {\n\tmatch \"system\" \"ETHERNET\";\n\tmatch \"type\" \"IFATTACH\";\n\taction\n\t    \"/usr/libexec/hyperv/hyperv_vfattach $subsystem 0\";\n};\n",
		nil, true},
	{"higher-priority rules without action shadow them (issue 12/9)", baseVF + shadowVF, nil, false},
	{"only IFATTACH shadowed: hyperv_vfup still runs", baseVF + shadowVF[:strings.Index(shadowVF, "notify 20 {\n\tmatch \"system\" \"HYPERV")], nil, true},
	{"only the VF_UP rule", baseVFUp, nil, true},
	{"only the IFATTACH rule", baseVFAttach, nil, true},
	{"an override running the base script with another delay",
		baseVF + "notify 20 {\n\tmatch \"system\" \"ETHERNET\";\n\tmatch \"type\" \"IFATTACH\";\n\taction \"/usr/libexec/hyperv/hyperv_vfattach $subsystem 120\";\n};\n" +
			"notify 20 {\n\tmatch \"system\" \"HYPERV_NIC_VF\";\n\tmatch \"type\" \"VF_UP\";\n\taction \"logger VF up on $subsystem\";\n};\n",
		nil, true},
	{"overrides running other commands", baseVF + strings.ReplaceAll(shadowVF, "};", "\taction \"logger $subsystem\";\n};"), nil, false},
	{"a shadow for other interfaces only", baseVF + strings.ReplaceAll(shadowVF, "\"ETHERNET\";", "\"ETHERNET\";\n\tmatch \"subsystem\" \"ue[0-9]+\";"), nil, true},
	{"a shadow for the VF drivers", baseVFUp + "notify 20 {\n\tmatch \"system\" \"HYPERV_NIC_VF\";\n};\n" + baseVFAttach +
		"notify 20 {\n\tmatch \"subsystem\" \"(mce|mlxen|mana)[0-9]+\";\n\tmatch \"type\" \"IFATTACH\";\n};\n", nil, false},
	{"empty blocks are no shadow", baseVF + "notify 20 { };\nnotify 30 { /* off */ };\n", nil, true},
	{"commented out", "#" + strings.ReplaceAll(baseVF, "\n", "\n#") + "\n", nil, false},
	{"block-commented", "/*\n" + baseVF + "*/\n", nil, false},
	{"a rule after a block comment", "/* off */ " + baseVFUp, nil, true},
	{"the script through a set variable",
		"options { set vfup \"/usr/libexec/hyperv/hyperv_vfup\"; };\nnotify 10 {\n\tmatch \"system\" \"HYPERV_NIC_VF\";\n\taction \"$vfup $subsystem\";\n};\n",
		nil, true},
	{"the daemons only", "notify 10 {\n\taction \"pkill -x hv_kvp_daemon\";\n};\n", nil, false},
	{"a shadow of equal priority loaded later does not shadow",
		"options { directory \"@ROOT@/a\"; directory \"@ROOT@/b\"; };\n",
		map[string]string{"a/hyperv.conf": baseVF, "b/vf-off.conf": strings.ReplaceAll(shadowVF, "notify 20", "notify 10")}, true},
	{"a shadow of equal priority loaded earlier shadows",
		"options { directory \"@ROOT@/a\"; directory \"@ROOT@/b\"; };\n",
		map[string]string{"a/vf-off.conf": strings.ReplaceAll(shadowVF, "notify 20", "notify 10"), "b/hyperv.conf": baseVF}, false},
	{"a higher-priority shadow in a later directory",
		"options { directory \"@ROOT@/etc/devd\"; directory \"@ROOT@/usr/local/etc/devd\"; };\n",
		map[string]string{"etc/devd/hyperv.conf": baseVF, "usr/local/etc/devd/vf-off.conf": shadowVF}, false},
	{"a file devd does not load (not *.conf)",
		"options { directory \"@ROOT@/d\"; };\n",
		map[string]string{"d/hyperv.conf.orig": baseVF}, false},
}

func issueTree(t testing.TB, conf string, files map[string]string) string {
	all := map[string]string{"devd.conf": conf}
	for k, v := range files {
		all[k] = v
	}
	return filepath.Join(writeTree(t, all), "devd.conf")
}

func TestBaseRulesActive(t *testing.T) {
	for _, tt := range issueCases {
		t.Run(tt.name, func(t *testing.T) {
			d, err := BaseRulesActive(issueTree(t, tt.conf, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			if d.Active != tt.active {
				t.Errorf("Active = %v, want %v: %s", d.Active, tt.active, d)
			}
		})
	}
}

// A missing configuration runs nothing; one devd cannot parse is an
// error the caller reports (and observes).
func TestBaseRulesActiveNoConfig(t *testing.T) {
	dir := t.TempDir()
	d, err := BaseRulesActive(filepath.Join(dir, "none"))
	if err != nil || d.Active || !strings.Contains(d.String(), "no devd configuration") {
		t.Errorf("missing configuration: %v, %v", d, err)
	}
	bad := issueTree(t, "/* unterminated\n"+baseVFUp, nil)
	_, err = BaseRulesActive(bad)
	var pe *DevdParseError
	if !errors.As(err, &pe) || pe.File != bad || pe.Line != 1 {
		t.Errorf("unparsable configuration: %v, want a parse error at line 1", err)
	}
}

// stockTree is FreeBSD's layout: devd.conf naming /etc/devd and
// /usr/local/etc/devd, the base hyperv.conf, and the package's rules.
func stockTree(t testing.TB, extra map[string]string) (root string) {
	t.Helper()
	files := map[string]string{}
	for _, name := range []string{"devd.conf", "etc/devd/hyperv.conf"} {
		b, err := os.ReadFile(filepath.Join("testdata/devd", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	b, err := os.ReadFile(hvagentDevdRules)
	if err != nil {
		t.Fatal(err)
	}
	files["usr/local/etc/devd/hvagent.conf"] = strings.ReplaceAll(string(b), "%%PREFIX%%", "/usr/local")
	for k, v := range extra {
		files[k] = v
	}
	return writeTree(t, files)
}

// The package's own rules take KVP and VSS over and leave the VF to the
// base system, which is what the package intends.
func TestPackageDevdRules(t *testing.T) {
	root := stockTree(t, nil)
	conf := filepath.Join(root, "devd.conf")
	d, err := BaseRulesActive(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Active {
		t.Errorf("the package's rules took the VF from the base system: %s", d)
	}
	hyperv := filepath.Join(root, "etc/devd/hyperv.conf")
	for _, er := range d.Events {
		if er.Rule == nil || er.Rule.File != hyperv || er.Rule.Priority != 10 || !er.Base {
			t.Errorf("%s: devd runs %v, want the base rule of %s", er.Event, er.Rule, hyperv)
		}
	}
	if s := d.String(); !strings.Contains(s, "runs the base script for ETHERNET IFATTACH of mce0, mlxen0, mana0: notify 10 at "+hyperv+":") {
		t.Errorf("explanation %q does not name the base rule once for the three VFs", s)
	}

	c, err := LoadDevdConf(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ event, file, cmd string }{
		{"!system=DEVFS subsystem=CDEV type=CREATE cdev=hv_kvp_dev", "usr/local/etc/devd/hvagent.conf", "/usr/local/etc/rc.d/hvagent owns kvp || /usr/sbin/hv_kvp_daemon"},
		{"!system=DEVFS subsystem=CDEV type=CREATE cdev=hv_fsvss_dev", "usr/local/etc/devd/hvagent.conf", "/usr/local/etc/rc.d/hvagent owns vss || /usr/sbin/hv_vss_daemon"},
		{"!system=DEVFS subsystem=CDEV type=DESTROY cdev=hv_kvp_dev", "etc/devd/hyperv.conf", "pkill -x hv_kvp_daemon"},
		{"!system=IFNET subsystem=hn0 type=LINK_UP", "devd.conf", "service dhclient quietstart $'hn0'"},
		{"!system=IFNET subsystem=wlan0 type=ATTACH", "", ""},
	} {
		ev := mustEvent(t, tt.event)
		r := c.Match(ev)
		if tt.file == "" {
			if r != nil {
				t.Errorf("%s: devd runs %v, want no rule", tt.event, r)
			}
			continue
		}
		if r == nil || r.File != filepath.Join(root, tt.file) || strings.Join(c.Commands(r, ev), "; ") != tt.cmd {
			t.Errorf("%s: devd runs %v, want %q of %s", tt.event, r, tt.cmd, tt.file)
		}
	}
}

// An administrator's override file in /usr/local/etc/devd takes the VF
// from the base system, and the decision says which rule does it.
func TestBaseRulesShadowedExplained(t *testing.T) {
	root := stockTree(t, map[string]string{"usr/local/etc/devd/vf-off.conf": shadowVF})
	d, err := BaseRulesActive(filepath.Join(root, "devd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Active {
		t.Fatalf("the shadow rules did not take the VF over: %s", d)
	}
	off, hyperv := filepath.Join(root, "usr/local/etc/devd/vf-off.conf"), filepath.Join(root, "etc/devd/hyperv.conf")
	want := "runs notify 20 at " + off + ":1 for ETHERNET IFATTACH of mce0, mlxen0, mana0, which has no action, ahead of the base script's notify 10 at " + hyperv + ":"
	if s := d.String(); !strings.Contains(s, want) {
		t.Errorf("explanation\n%s\ndoes not contain\n%s", s, want)
	}
}

// The subsystem's mode follows devd's reading of the rules: the issue's
// two cases, end to end through decide and the check before an action.
func TestDecideFollowsDevd(t *testing.T) {
	for _, tt := range issueCases[1:3] {
		t.Run(tt.name, func(t *testing.T) {
			conf := issueTree(t, tt.conf, tt.files)
			s := New(Config{Mode: ModeAuto, BaseRules: conf, Runner: &commandtest.Fake{}})
			d := s.decide(context.Background(), false)
			if d.managing == tt.active {
				t.Errorf("managing = %v with active base rules = %v: %s", d.managing, tt.active, d.why)
			}
			if !strings.Contains(d.why, "devd ("+conf+")") {
				t.Errorf("the reason %q does not explain devd's reading", d.why)
			}
			mg := &manager{baseRules: conf}
			if err := mg.baseRulesBlock(); (err != nil) != tt.active {
				t.Errorf("the check before an action: %v", err)
			}
		})
	}
}

func BenchmarkBaseRulesActive(b *testing.B) {
	conf := filepath.Join(stockTree(b, nil), "devd.conf")
	for b.Loop() {
		if _, err := BaseRulesActive(conf); err != nil {
			b.Fatal(err)
		}
	}
}
