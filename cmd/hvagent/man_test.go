package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/metrics"
	"github.com/hvagent/hvagent/vss"
)

// manPage is hvagent(8), relative to this package's directory.
const manPage = "../../man/hvagent.8"

// TestManPageLint runs mandoc's linter over every man page. Without
// mandoc the test is skipped, except in CI, which installs it.
func TestManPageLint(t *testing.T) {
	mandoc, err := exec.LookPath("mandoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mandoc is not on PATH, and CI must install it: %v", err)
		}
		t.Skipf("mandoc is not on PATH (%v); install mandoc to lint the man pages", err)
	}
	pages, err := filepath.Glob("../../man/*.[1-9]")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no man pages in ../../man: %v", err)
	}
	for _, page := range pages {
		out, err := exec.Command(mandoc, "-Tlint", "-Wwarning", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("mandoc -Tlint -Wwarning %s: %v\n%s", page, err, out)
		}
	}
}

// TestManPageRCVariables checks that the rc.conf variables the rc.d
// script reads and those STARTING AT BOOT documents are the same.
func TestManPageRCVariables(t *testing.T) {
	script, err := os.ReadFile(rcScript)
	if err != nil {
		t.Fatal(err)
	}
	var inScript []string
	for _, m := range regexp.MustCompile(`(?m)^: "\$\{(hvagent_[a-z_]+)`).FindAllStringSubmatch(string(script), -1) {
		inScript = append(inScript, m[1])
	}
	if len(inScript) < 3 {
		t.Fatalf("found only %q in the rc.d script; has its format changed?", inScript)
	}
	b, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	var inPage []string
	for _, line := range section(t, strings.Split(string(b), "\n"), "STARTING AT BOOT") {
		if name, ok := strings.CutPrefix(line, ".It Va "); ok {
			inPage = append(inPage, name)
		}
	}
	slices.Sort(inScript)
	slices.Sort(inPage)
	if !slices.Equal(inScript, inPage) {
		t.Errorf("rc.conf variables: the rc.d script reads %q, STARTING AT BOOT documents %q", inScript, inPage)
	}
}

// TestManPageMatchesHelp checks the man page against the program: every
// flag of "hvagent run", every command form of the usage text and every
// hvagent_* metric family must be documented, and the page must not
// document run flags that do not exist.
func TestManPageMatchesHelp(t *testing.T) {
	b, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	synopsis := section(t, lines, "SYNOPSIS")
	forms := synopsisForms(synopsis)

	t.Run("run flags", func(t *testing.T) {
		names := runFlagNames(t)
		t.Logf("flags of hvagent run: %s", strings.Join(names, " "))
		run, ok := findForm(forms, []string{"run"})
		if !ok {
			t.Fatal("SYNOPSIS has no 'hvagent run' form")
		}
		items := optionItems(section(t, lines, "DESCRIPTION"))
		for _, name := range names {
			if !synopsisHasFlag(run, name) {
				t.Errorf("SYNOPSIS of 'hvagent run' lacks %s", mdocFlag(name))
			}
			if !slices.Contains(items, name) {
				t.Errorf("DESCRIPTION lacks a list entry '.It %s' for the run flag", mdocFlag(name))
			}
		}
		// The other direction: nothing documented that the daemon rejects.
		for _, name := range items {
			if !slices.Contains(names, name) {
				t.Errorf("DESCRIPTION documents '.It %s', which 'hvagent run' does not accept", mdocFlag(name))
			}
		}
		for _, f := range run.flags {
			for _, name := range splitMdocFlag(f) {
				if !slices.Contains(names, name) {
					t.Errorf("SYNOPSIS of 'hvagent run' shows %s, which 'hvagent run' does not accept", mdocFlag(name))
				}
			}
		}
	})

	t.Run("command forms", func(t *testing.T) {
		ufs := usageForms(usage)
		if !slices.ContainsFunc(ufs, func(f cmdForm) bool { return slices.Equal(f.words, []string{"run"}) }) {
			t.Fatalf("found no 'hvagent run' line in the usage text; has its format changed?\n%s", usage)
		}
		for _, uf := range ufs {
			cmd := "hvagent " + strings.Join(uf.words, " ")
			sf, ok := findForm(forms, uf.words)
			if !ok {
				t.Errorf("SYNOPSIS lacks the form %q of the usage text", cmd)
				continue
			}
			for _, name := range uf.flags {
				if !synopsisHasFlag(sf, name) {
					t.Errorf("SYNOPSIS of %q lacks %s", cmd, mdocFlag(name))
				}
			}
		}
	})

	t.Run("metric families", func(t *testing.T) {
		text := strings.Join(section(t, lines, "METRICS"), "\n")
		names := metricFamilies(t)
		t.Logf("hvagent_* families: %s", strings.Join(names, " "))
		for _, name := range names {
			re := regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `([^A-Za-z0-9_]|$)`)
			if !re.MatchString(text) {
				t.Errorf("METRICS does not mention the family %s", name)
			}
		}
	})
}

// runFlagNames returns the names of the flags of "hvagent run", read from
// the help that parseDaemonFlags prints (flag.PrintDefaults: each flag
// starts a line with two spaces and a dash).
func runFlagNames(t *testing.T) []string {
	t.Helper()
	var help bytes.Buffer
	if _, err := parseDaemonFlags([]string{"--help"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseDaemonFlags(--help) = %v, want flag.ErrHelp", err)
	}
	var names []string
	for line := range strings.Lines(help.String()) {
		rest, ok := strings.CutPrefix(line, "  -")
		if !ok {
			continue
		}
		if i := strings.IndexAny(rest, " \t\n"); i >= 0 {
			rest = rest[:i]
		}
		names = append(names, rest)
	}
	// Guard against a change of the help format making this test vacuous.
	if !slices.Contains(names, "kvp.device") || !slices.Contains(names, "n") {
		t.Fatalf("could not read the flags from the help output; has its format changed?\n%s", help.String())
	}
	return names
}

// metricFamilies returns the hvagent_* families the daemon registers: the
// agent-wide ones of metrics.New and those every subsystem adds, built
// the way runDaemon builds them. Describe lists families without series.
func metricFamilies(t *testing.T) []string {
	t.Helper()
	f, err := parseDaemonFlags([]string{"--kvp.device", "/nonexistent", "--kvp.pool-dir", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(agent.Version, agent.Revision())
	_, closeSubs := newSubsystems(f, m.Registry, slog.New(slog.DiscardHandler), vss.NewLogHold())
	defer closeSubs()
	descs := make(chan *prometheus.Desc)
	go func() {
		m.Registry.Describe(descs)
		close(descs)
	}()
	fqName := regexp.MustCompile(`fqName: "([^"]*)"`)
	var names []string
	for d := range descs {
		s := fqName.FindStringSubmatch(d.String())
		if s == nil {
			t.Fatalf("cannot find the name in %s", d)
		}
		if strings.HasPrefix(s[1], "hvagent_") && !slices.Contains(names, s[1]) {
			names = append(names, s[1])
		}
	}
	if len(names) == 0 {
		t.Fatal("found no hvagent_* families in the registry")
	}
	slices.Sort(names)
	return names
}

// section returns the lines of the man page section .Sh name, without
// the .Sh line.
func section(t *testing.T, lines []string, name string) []string {
	t.Helper()
	start := slices.Index(lines, ".Sh "+name)
	if start < 0 {
		t.Fatalf("%s has no section %s", manPage, name)
	}
	body := lines[start+1:]
	if end := slices.IndexFunc(body, func(l string) bool { return strings.HasPrefix(l, ".Sh ") }); end >= 0 {
		body = body[:end]
	}
	return body
}

// cmdForm is one command form: its command words ("kvp", "list") and the
// flags shown with it. In the usage text a flag is its name ("pool"); in
// mdoc it is the argument of Fl: "-pool" for --pool, "dn" for -d and -n.
type cmdForm struct {
	words []string
	flags []string
}

func findForm(forms []cmdForm, words []string) (cmdForm, bool) {
	i := slices.IndexFunc(forms, func(f cmdForm) bool { return slices.Equal(f.words, words) })
	if i < 0 {
		return cmdForm{}, false
	}
	return forms[i], true
}

// usageForms parses the usage text: "hvagent kvp get --pool P KEY" has the
// words kvp and get and the flag pool.
func usageForms(text string) []cmdForm {
	var forms []cmdForm
	for line := range strings.Lines(text) {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "usage:"))
		if len(fields) == 0 || fields[0] != "hvagent" {
			continue
		}
		var f cmdForm
		inWords := true
		for _, tok := range fields[1:] {
			if inWords && isWord(tok) {
				f.words = append(f.words, tok)
				continue
			}
			inWords = false
			if tok = strings.Trim(tok, "[]"); strings.HasPrefix(tok, "-") {
				f.flags = append(f.flags, strings.TrimLeft(tok, "-"))
			}
		}
		forms = append(forms, f)
	}
	return forms
}

func isWord(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") == ""
}

// mdocMacros are the mdoc macros that can stand among the arguments of a
// SYNOPSIS line; any other token is an argument.
var mdocMacros = []string{"Ar", "Cm", "Fl", "Ic", "Li", "Nm", "Ns", "Oc", "Oo", "Op", "Pa", "Pq"}

// synopsisForms parses the SYNOPSIS: each .Nm line starts a form, the
// arguments of Cm are its words and the first argument of each Fl a flag.
func synopsisForms(lines []string) []cmdForm {
	var forms []cmdForm
	for _, line := range lines {
		toks := strings.Fields(strings.TrimPrefix(line, "."))
		if !strings.HasPrefix(line, ".") || len(toks) == 0 {
			continue
		}
		if toks[0] == "Nm" {
			forms = append(forms, cmdForm{})
			continue
		}
		if len(forms) == 0 {
			continue
		}
		cur := &forms[len(forms)-1]
		for i := 0; i < len(toks); i++ {
			switch toks[i] {
			case "Cm":
				for i+1 < len(toks) && !slices.Contains(mdocMacros, toks[i+1]) {
					i++
					cur.words = append(cur.words, toks[i])
				}
			case "Fl":
				if i+1 < len(toks) && !slices.Contains(mdocMacros, toks[i+1]) {
					i++
					cur.flags = append(cur.flags, toks[i])
				}
			}
		}
	}
	return forms
}

// synopsisHasFlag reports whether form shows the flag name.
func synopsisHasFlag(form cmdForm, name string) bool {
	return slices.ContainsFunc(form.flags, func(f string) bool {
		return slices.Contains(splitMdocFlag(f), name)
	})
}

// splitMdocFlag returns the flag names of an Fl argument: "-kvp.device"
// is kvp.device, "dn" is d and n.
func splitMdocFlag(arg string) []string {
	if name, ok := strings.CutPrefix(arg, "-"); ok {
		return []string{name}
	}
	var names []string
	for _, r := range arg {
		names = append(names, string(r))
	}
	return names
}

// mdocFlag returns how name is written in mdoc: "Fl -kvp.device", "Fl n".
func mdocFlag(name string) string {
	if len(name) > 1 {
		return "Fl -" + name
	}
	return "Fl " + name
}

// optionItems returns the flags documented as list entries ".It Fl ...".
func optionItems(lines []string) []string {
	var names []string
	for _, line := range lines {
		toks := strings.Fields(line)
		if len(toks) >= 3 && toks[0] == ".It" && toks[1] == "Fl" {
			names = append(names, splitMdocFlag(toks[2])...)
		}
	}
	return names
}
