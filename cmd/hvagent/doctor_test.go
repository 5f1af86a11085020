package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/doctor"
	"github.com/hvagent/hvagent/kvp/kvptest"
	"github.com/hvagent/hvagent/vf/vftest"
)

func TestCutJSONFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		json bool
		rest []string
	}{
		{nil, false, nil},
		{[]string{"--json"}, true, nil},
		{[]string{"-json", "--kvp.device", "/x"}, true, []string{"--kvp.device", "/x"}},
		{[]string{"--json=false", "--disable", "vf"}, false, []string{"--disable", "vf"}},
		{[]string{"--vss.include", "json", "--json=true"}, true, []string{"--vss.include", "json"}},
		{[]string{"--", "--json"}, false, []string{"--", "--json"}},
	} {
		j, rest, err := cutJSONFlag(tc.args)
		if err != nil || j != tc.json || !slices.Equal(rest, tc.rest) {
			t.Errorf("cutJSONFlag(%q) = %v, %q, %v; want %v, %q", tc.args, j, rest, err, tc.json, tc.rest)
		}
	}
	if _, _, err := cutJSONFlag([]string{"--json=maybe"}); err == nil {
		t.Error("--json=maybe accepted")
	}
}

func TestDoctorUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"doctor", "--no-such-flag"}, &out, &errb); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, exitUsage)
	}
	errb.Reset()
	if code := run([]string{"doctor", "--help"}, &out, &errb); code != exitOK ||
		!strings.Contains(errb.String(), "hvagent doctor") || !strings.Contains(errb.String(), "-kvp.device") {
		t.Errorf("--help: exit %d\n%s", code, errb.String())
	}
}

// runDoctorBin runs the real binary's doctor and decodes its JSON.
func runDoctorBin(t *testing.T, environ []string, args ...string) (doctor.Report, int) {
	t.Helper()
	cmd := exec.Command(agentBin, append([]string{"doctor", "--json"}, args...)...)
	cmd.Env = environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var rep doctor.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("doctor --json: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	return rep, code
}

func findingOf(rep doctor.Report, id, subject string) (doctor.Finding, bool) {
	i := slices.IndexFunc(rep.Findings, func(f doctor.Finding) bool { return f.ID == id && f.Subject == subject })
	if i < 0 {
		return doctor.Finding{}, false
	}
	return rep.Findings[i], true
}

// TestDoctorE2E runs 'hvagent doctor --json' against a running agent on
// the KVP socket fake, a simulated hn(4) kernel behind a fake sysctl on
// PATH, and a pool directory of its own.
func TestDoctorE2E(t *testing.T) {
	e := newEnv(t, kvptest.KernelOptions{})
	e.listen = freePort(t)
	e.start()
	e.mustSet(0, "Admin", "1")

	w, err := vftest.NewWorld(filepath.Join(e.dir, "vf"))
	if err != nil {
		t.Fatal(err)
	}
	fake, err := vftest.BuildFakes(ctxT(t), e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Install(fake); err != nil {
		t.Fatal(err)
	}
	err = w.Update(func(st *vftest.State) {
		st.Sysctl["kern.vm_guest"] = "hv"
		st.AddHN("hn0", true)
		st.AttachVF("hn0", "mce0")
		st.SetDatapath("hn0", true)
	})
	if err != nil {
		t.Fatal(err)
	}
	common := []string{
		"--kvp.device", e.kernel.Path(),
		"--kvp.pool-dir", e.poolDir(),
		"--web.listen-address", e.listen,
		"--vf.base-rules", filepath.Join(e.dir, "devd.conf"),
		"--vf.override-dir", filepath.Join(e.dir, "libexec"),
		"--vf.sysctl-command",
		"--vss.hooks-dir", filepath.Join(e.dir, "vss.d"),
	}

	t.Run("healthy", func(t *testing.T) {
		rep, code := runDoctorBin(t, w.Env(), append(common, "--disable", "vss")...)
		if code != exitOK || rep.Summary.Fail != 0 {
			t.Fatalf("exit %d, summary %+v, findings %+v", code, rep.Summary, rep.Findings)
		}
		for _, want := range []doctor.Finding{
			{ID: "hyperv", Status: doctor.OK},
			{ID: "kvp.device", Subject: e.kernel.Path(), Status: doctor.Info},
			{ID: "kvp.pool-dir", Subject: e.poolDir(), Status: doctor.OK},
			{ID: "kvp.pool-file", Subject: e.poolDir(), Status: doctor.OK},
			{ID: "vss", Status: doctor.Info},
			{ID: "vf.hn", Subject: "hn0", Status: doctor.OK},
			{ID: "metrics.listener", Subject: e.listen, Status: doctor.OK},
			{ID: "agent.subsystem", Subject: "kvp", Status: doctor.OK},
			{ID: "agent.subsystem", Subject: "vss", Status: doctor.Info},
		} {
			f, ok := findingOf(rep, want.ID, want.Subject)
			if !ok || f.Status != want.Status {
				t.Errorf("%s %s: got %+v (found %v), want status %s", want.ID, want.Subject, f, ok, want.Status)
			}
		}
	})

	t.Run("backup refused", func(t *testing.T) {
		// e.dir is no mount point: a FREEZE would be refused.
		rep, code := runDoctorBin(t, w.Env(), append(common, "--vss.include", e.dir)...)
		f, ok := findingOf(rep, "vss.plan", "")
		if code != exitError || !ok || f.Status != doctor.Fail || f.Remedy == "" {
			t.Errorf("exit %d, vss.plan %+v (found %v)", code, f, ok)
		}
	})

	t.Run("human", func(t *testing.T) {
		cmd := exec.Command(agentBin, append([]string{"doctor"}, append(common, "--disable", "vss")...)...)
		cmd.Env = w.Env()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.HasPrefix(string(out), "STATUS") || !strings.Contains(string(out), "vf.hn hn0") ||
			!strings.Contains(string(out), "0 fail") {
			t.Errorf("output:\n%s", out)
		}
	})

	if got := e.kernel.Registered(); !got {
		t.Error("the agent lost its registration while the doctor ran")
	}
	e.stop()
}
