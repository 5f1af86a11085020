package vf

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	alertRules = "../packaging/prometheus/hvagent-alerts.yml"
	alertTests = "../packaging/prometheus/hvagent-alerts_test.yml"
	dashboard  = "../packaging/grafana/hvagent-dashboard.json"
)

// needPromtool returns promtool's path, or skips (fails under CI=true,
// which installs it).
func needPromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is not on PATH, and CI must install it: %v", err)
		}
		t.Skipf("promtool is not on PATH (%v); install Prometheus's promtool to test the alert rules", err)
	}
	return p
}

// The alert rules are valid and their unit tests (firing and quiet
// cases) pass.
func TestAlertRules(t *testing.T) {
	promtool := needPromtool(t)
	for _, args := range [][]string{{"check", "rules", alertRules}, {"test", "rules", alertTests}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every hvagent_vf_* name the alert rules and the dashboard use is a
// family the agent exports on FreeBSD or on Linux (or a series of a
// histogram), so a rename cannot silently blind them.
func TestPackagingUsesRealFamilies(t *testing.T) {
	reg, lreg := prometheus.NewRegistry(), prometheus.NewRegistry()
	NewMetrics(reg)
	NewLinuxMetrics(lreg).setKernelLog(true, nil) // as once the kernel log is open
	described := append(describedNames(reg), describedNames(lreg)...)
	names := regexp.MustCompile(`hvagent_vf_[a-z_]+`)
	for _, f := range []string{alertRules, dashboard} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".json") && !json.Valid(b) {
			t.Errorf("%s is not valid JSON", f)
		}
		for _, n := range names.FindAllString(string(b), -1) {
			ok := slices.Contains(described, n)
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, cut := strings.CutSuffix(n, suffix); cut && slices.Contains(described, base) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s uses %s, which hvagent does not export", f, n)
			}
		}
	}
}

func describedNames(reg *prometheus.Registry) []string {
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	re := regexp.MustCompile(`fqName: "([^"]*)"`)
	var out []string
	for d := range ch {
		if m := re.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// An aggregation that keeps the hn label also keeps instance: hn0 of one
// VM must not be added to hn0 of another.
func TestPackagingKeepsInstancePerHN(t *testing.T) {
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	for _, f := range []string{alertRules, dashboard} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range by.FindAllStringSubmatch(string(b), -1) {
			labels := strings.Split(strings.ReplaceAll(m[1], " ", ""), ",")
			if slices.Contains(labels, "hn") && !slices.Contains(labels, "instance") {
				t.Errorf("%s: %q merges the same hn of different instances", f, m[0])
			}
		}
	}
}
