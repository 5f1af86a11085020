package vf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// renderToks writes tokens compactly: keywords as themselves, IDs as
// id:WORD, numbers as #N, strings quoted.
func renderToks(toks []devdToken) string {
	var out []string
	for _, t := range toks {
		switch t.kind {
		case tokEOF:
		case tokSemicolon:
			out = append(out, ";")
		case tokBegin:
			out = append(out, "{")
		case tokEnd:
			out = append(out, "}")
		case tokNumber:
			out = append(out, fmt.Sprintf("#%d", t.num))
		case tokString:
			out = append(out, fmt.Sprintf("%q", t.text))
		case tokID:
			out = append(out, "id:"+t.text)
		default:
			out = append(out, t.text)
		}
	}
	return strings.Join(out, " ")
}

// lexCases are devd.conf fragments and the tokens sbin/devd/token.l
// makes of them.
var lexCases = []struct {
	name, src, want string
}{
	{"rule", "notify 10 {\n\tmatch \"system\"\t\"ETHERNET\";\n};\n",
		`notify #10 { match "system" "ETHERNET" ; } ;`},
	{"string on the next line", "action\n\t\"/usr/libexec/hyperv/hyperv_vfattach $subsystem 0\";",
		`action "/usr/libexec/hyperv/hyperv_vfattach $subsystem 0" ;`},
	{"backslash-newline joins", "set r \"(mce|\\\n\t\tmana)[0-9]+\";",
		`set id:r "(mce|mana)[0-9]+" ;`},
	{"newline kept in a string", "action \"a\nb\";", `action "a\nb" ;`},
	{"hash comment", "# notify 10 {\nmatch # \"x\"\n", `match`},
	{"slash comment", "// action \"x\";\nmatch // \"x\"\n", `match`},
	{"block comment over lines", "/* notify 10 {\naction \"x\";\n}; */ match", `match`},
	{"block comment stars", "/***/ match /* a * / b **/ action", `match action`},
	{"unterminated block comment is no comment", "/* notify", `notify`},
	{"comment without a final newline is no comment", "match # trailing words", `match id:trailing id:words`},
	{"slashes without a final newline", "match // x", `match id:x`},
	{"keyword needs the whole word", "notifyx notify media-type media-typed device-name", `id:notifyx notify media-type id:media-typed device-name`},
	{"number then word", "10abc", `#10 id:abc`},
	{"empty string is two stray quotes", "action \"\";", `action ;`},
	{"an empty string is no string, the next quote opens one", "\"\" \"x\"", `" " id:x`},
	{"unclosed quote", "action \"abc", `action id:abc`},
	{"stray bytes ignored", "match = \r\x01 \xff \"v\";", `match "v" ;`},
	{"a NUL cuts a string short (strlen(yytext) - 2)", "\"ab\x00cd\"", `"a"`},
	{"atoi wraps like FreeBSD's", "99999999999999999999 2147483648 4294967306", `#-1 #-2147483648 #10`},
	{"digits inside a word", "mce0", `id:mce0`},
}

func TestLexDevd(t *testing.T) {
	for _, tt := range lexCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderToks(lexDevd([]byte(tt.src))); got != tt.want {
				t.Errorf("lexDevd(%q)\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}

// Lines count newlines inside comments and strings, as update_lineno does.
func TestLexDevdLines(t *testing.T) {
	src := "/* one\ntwo */ notify\n\"a\nb\" # c\n// d\n;"
	var lines []int
	for _, tok := range lexDevd([]byte(src)) {
		lines = append(lines, tok.line)
	}
	if got, want := fmt.Sprint(lines), "[2 3 6 6]"; got != want {
		t.Errorf("token lines %s, want %s", got, want)
	}
}

// renderItems writes parsed items back as devd.conf text. Strings are
// written as they are: devd's have no escapes.
func renderItems(items []devdItem) string {
	q := func(s string) string { return `"` + s + `"` }
	var b strings.Builder
	for _, it := range items {
		switch it.option {
		case "set":
			fmt.Fprintf(&b, "options { set %s %s; };\n", it.name, q(it.value))
		case "":
			r := it.rule
			fmt.Fprintf(&b, "%s %d {", r.Kind, r.Priority)
			for _, s := range r.stmts {
				switch s.kind {
				case stmtAction:
					fmt.Fprintf(&b, " action %s;", q(s.value))
				case stmtMedia:
					fmt.Fprintf(&b, " media-type %s;", q(s.value))
				default:
					fmt.Fprintf(&b, " match %s %s;", q(s.name), q(s.value))
				}
			}
			b.WriteString(" };\n")
		default:
			fmt.Fprintf(&b, "options { %s %s; };\n", it.option, q(it.value))
		}
	}
	return b.String()
}

var parseCases = []struct {
	name, src string
	want      string // renderItems of the result; "" with errLine
	errLine   int
}{
	{"empty file", "", "", 0},
	{"comments only", "# nothing\n/* at all */\n", "", 0},
	{"options", "options {\n\tdirectory \"/etc/devd\";\n\tpid-file \"/var/run/devd.pid\";\n\tset re\n\t\t\"a|\\\n\t\tb\";\n};\n",
		"options { directory \"/etc/devd\"; };\noptions { pid-file \"/var/run/devd.pid\"; };\noptions { set re \"a|b\"; };\n", 0},
	{"rule kinds and shorthands", "attach 100 { device-name \"ubt[0-9]+\"; class \"c\"; subdevice \"s\"; media-type \"ethernet\"; action \"x\"; };\n" +
		"detach 0 { match \"a\" \"b\"; };\nnomatch 5 { action \"y\"; };\n",
		"attach 100 { match \"device-name\" \"ubt[0-9]+\"; match \"class\" \"c\"; match \"subdevice\" \"s\"; media-type \"ethernet\"; action \"x\"; };\n" +
			"detach 0 { match \"a\" \"b\"; };\nnomatch 5 { action \"y\"; };\n", 0},
	{"empty block adds no rule", "notify 10 { };\nnotify 10 { /* all gone */ };\n", "", 0},
	{"action string on the next line", "notify 10 {\n\tmatch \"type\" \"IFATTACH\";\n\taction\n\t\t\"hyperv_vfattach $subsystem 0\";\n};\n",
		"notify 10 { match \"type\" \"IFATTACH\"; action \"hyperv_vfattach $subsystem 0\"; };\n", 0},
	{"no semicolon after the block", "notify 10 { action \"x\"; }\nnotify 11 { action \"y\"; };\n", "", 2},
	{"no priority", "notify { action \"x\"; };", "", 1},
	{"empty options", "options { };", "", 1},
	{"set of a keyword", "options { set match \"x\"; };", "", 1},
	{"match with one string", "notify 1 {\n match \"system\";\n};", "", 2},
	{"unknown statement", "notify 1 {\n\tmatches \"a\" \"b\";\n};", "", 2},
	{"unterminated block", "notify 1 { action \"x\";", "", 1},
	{"stray word at the top", "hello", "", 1},
	{"last-line comment without newline", "notify 1 { action \"x\"; };\n# end", "", 2},
	{"an unterminated comment opener is ignored", "/* notify 1 { action \"x\"; };", "notify 1 { action \"x\"; };\n", 0},
}

func TestParseDevd(t *testing.T) {
	for _, tt := range parseCases {
		t.Run(tt.name, func(t *testing.T) {
			items, err := parseDevd("f.conf", []byte(tt.src))
			if tt.errLine != 0 {
				var pe *DevdParseError
				if !errors.As(err, &pe) || pe.Line != tt.errLine || pe.File != "f.conf" {
					t.Fatalf("parseDevd = %v, want a parse error at f.conf line %d", err, tt.errLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := renderItems(items); got != tt.want {
				t.Errorf("parsed\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// writeTree writes files (slash paths under a new temporary root, @ROOT@
// in their text replaced by it) and returns the root.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "@ROOT@", root)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func mustEvent(t testing.TB, line string) DevdEvent {
	t.Helper()
	ev, err := ParseDevdEvent(line)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// devd loads its file, then the *.conf files of each directory in the
// order named (a missing directory is skipped), and sorts each kind of
// rule by priority, keeping the load order among equals.
func TestLoadDevdConfOrder(t *testing.T) {
	root := writeTree(t, map[string]string{
		"devd.conf": "options { directory \"@ROOT@/a\"; directory \"@ROOT@/missing\"; directory \"@ROOT@/b\"; };\n" +
			"notify 5 { match \"system\" \"X\"; action \"main-5\"; };\n",
		"a/one.conf":        "notify 5 { match \"system\" \"X\"; action \"a-5\"; };\nnotify 7 { match \"system\" \"X\"; action \"a-7\"; };\n",
		"a/notes.txt":       "not devd syntax at all {",
		"a/one.conf.sample": "not devd syntax at all {",
		"b/.conf":           "notify 5 { match \"system\" \"X\"; action \"b-5\"; };\n",
	})
	c, err := LoadDevdConf(filepath.Join(root, "devd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{root + "/devd.conf", root + "/a/one.conf", root + "/b/.conf"}
	if fmt.Sprint(c.Files) != fmt.Sprint(want) {
		t.Errorf("files %q, want %q", c.Files, want)
	}
	var got []string
	for _, r := range c.MatchAll(mustEvent(t, "!system=X subsystem=y type=z")) {
		got = append(got, r.Actions()...)
	}
	if fmt.Sprint(got) != "[a-7 main-5 a-5 b-5]" {
		t.Errorf("rules in devd's order %q, want [a-7 main-5 a-5 b-5]", got)
	}
}

func TestLoadDevdConfErrors(t *testing.T) {
	root := writeTree(t, map[string]string{
		"devd.conf":  "options { directory \"@ROOT@/d\"; };\n",
		"d/bad.conf": "notify 10 {\n\tmatch \"system\" \"ETHERNET\"\n\taction \"x\";\n};\n",
	})
	_, err := LoadDevdConf(filepath.Join(root, "devd.conf"))
	var pe *DevdParseError
	if !errors.As(err, &pe) || pe.File != root+"/d/bad.conf" || pe.Line != 3 {
		t.Errorf("a file devd cannot parse: %v, want a parse error at d/bad.conf line 3", err)
	}
	if _, err := LoadDevdConf(filepath.Join(root, "none.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing configuration: %v, want ErrNotExist", err)
	}
	big := writeTree(t, map[string]string{"devd.conf": strings.Repeat("#", maxRulesFile+1)})
	if _, err := LoadDevdConf(filepath.Join(big, "devd.conf")); err == nil {
		t.Error("a configuration longer than the bound loaded")
	}
	loop := writeTree(t, map[string]string{"devd.conf": "options { directory \"@ROOT@\"; };\n"})
	if _, err := LoadDevdConf(filepath.Join(loop, "devd.conf")); err == nil {
		t.Error("a directory that loads itself forever loaded")
	}
}

// The matching rules of devd.cc: anchored, case-blind extended regexes,
// "!" inverts, variables "set" earlier are expanded, a regex that does
// not compile matches nothing, an unset variable is empty.
func TestDevdMatch(t *testing.T) {
	ev := "!system=ETHERNET subsystem=mce0 type=IFATTACH"
	tests := []struct {
		name  string
		match string // the statements of one notify rule
		want  bool
	}{
		{"exact", `match "system" "ETHERNET";`, true},
		{"anchored", `match "system" "ETHER";`, false},
		{"case-blind", `match "system" "ethernet";`, true},
		{"regex", `match "subsystem" "(mce|mlxen|mana)[0-9]+";`, true},
		{"inverted", `match "subsystem" "!(usbus|wlan)[0-9]+";`, true},
		{"inverted miss", `match "subsystem" "!mce[0-9]+";`, false},
		{"unanchored alternatives", `match "type" "IFATTACHED|IFATTACH";`, true},
		{"anchor applies to the first alternative only", `match "type" "IFA|nothing";`, true},
		{"set variable", `match "subsystem" "$vf-regex";`, true},
		{"unset variable is empty", `match "subsystem" "mce$nothing[0]";`, true},
		{"a variable name takes digits and dashes", `match "subsystem" "mce$nothing-here0";`, false},
		{"dollar before a digit stays", `match "subsystem" "mce0$";`, true},
		{"unset event variable is empty", `match "cdev" "!.+";`, true},
		{"bad regex matches nothing", `match "system" "(";`, false},
		{"inverted bad regex matches everything", `match "system" "!(";`, true},
		{"all must hold", `match "system" "ETHERNET"; match "type" "LINK_UP";`, false},
		{"media ethernet", `media-type "ethernet";`, true},
		{"media other", `media-type "802.11";`, false},
		{"no match at all", `action "x";`, true},
		{"whole line", `match "*" "!system=ETHERNET subsystem=mce0 type=IFATTACH";`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"devd.conf": "options { set vf-regex \"mce[0-9]\"; };\nnotify 1 { " + tt.match + " };\n",
			})
			c, err := LoadDevdConf(filepath.Join(root, "devd.conf"))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Match(mustEvent(t, ev)) != nil; got != tt.want {
				t.Errorf("%s on %q: matched %v, want %v", tt.match, ev, got, tt.want)
			}
		})
	}
}

// A "set" is expanded into the matches parsed after it, not before.
func TestDevdSetIsSeenInOrder(t *testing.T) {
	root := writeTree(t, map[string]string{
		"devd.conf": "notify 2 { match \"subsystem\" \"$r\"; action \"before\"; };\n" +
			"options { set r \"mce0\"; };\nnotify 1 { match \"subsystem\" \"$r\"; action \"after\"; };\n",
	})
	c, err := LoadDevdConf(filepath.Join(root, "devd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Match(mustEvent(t, "!system=ETHERNET subsystem=mce0 type=IFATTACH"))
	if r == nil || fmt.Sprint(r.Actions()) != "[after]" {
		t.Errorf("rule %v, want the one parsed after the set", r)
	}
}

func TestParseDevdEvent(t *testing.T) {
	tests := []struct {
		line string
		want string // kind and sorted variables
	}{
		{"!system=ETHERNET subsystem=mce0 type=IFATTACH", "notify subsystem=mce0 system=ETHERNET type=IFATTACH"},
		{`!system=ZFS subsystem=ZFS type=sysevent.fs.zfs.history_event pool_name="tank 1" x=a\"b`,
			`notify pool_name=tank 1 subsystem=ZFS system=ZFS type=sysevent.fs.zfs.history_event x=a"b`},
		{"!system=IFNET subsystem=hn0 type=LINK_UP trailing words", "notify subsystem=hn0 system=IFNET type=LINK_UP"},
		{"+mce0 at slot=2 function=0 on pci1", "attach bus=pci1 device-name=mce0 function=0 slot=2"},
		{"-mce0 at  on pci1", "detach bus=pci1 device-name=mce0"},
		{"? at vendor=0x15b3 on pci1", "nomatch bus=pci1 vendor=0x15b3"},
	}
	for _, tt := range tests {
		ev, err := ParseDevdEvent(tt.line)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		var kv []string
		for k, v := range ev.vars {
			if k != "*" && k != "_" && k != "timestamp" {
				kv = append(kv, k+"="+v)
			}
		}
		slices.Sort(kv)
		if got := ev.kind + " " + strings.Join(kv, " "); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.line, got, tt.want)
		}
	}
	for _, bad := range []string{"", "xsystem=A", "+nospace"} {
		if _, err := ParseDevdEvent(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// devd runs its actions through sh -c with variables shell-quoted.
func TestDevdCommands(t *testing.T) {
	root := writeTree(t, map[string]string{
		"devd.conf": "options { set dir \"/usr/libexec/hyperv\"; };\n" +
			"notify 1 { action \"$dir/hyperv_vfup $subsystem $$ $(echo (x)) $1\"; action \"logger it's\"; };\n",
	})
	c, err := LoadDevdConf(filepath.Join(root, "devd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ev := mustEvent(t, "!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP")
	got := c.Commands(c.Match(ev), ev)
	want := []string{`$'/usr/libexec/hyperv'/hyperv_vfup $'hn0' $ $(echo (x)) $1`, "logger it's"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("commands\n got %q\nwant %q", got, want)
	}
}

// FuzzDevdConf: the lexer and parser never panic, token lines never go
// back, a parse that succeeds survives loading and matching, and what
// it parsed reads back the same when written out again.
func FuzzDevdConf(f *testing.F) {
	for _, c := range lexCases {
		f.Add([]byte(c.src))
	}
	for _, c := range parseCases {
		f.Add([]byte(c.src))
	}
	for _, c := range issueCases {
		f.Add([]byte(c.conf))
	}
	for _, name := range []string{"testdata/devd/devd.conf", "testdata/devd/etc/devd/hyperv.conf", hvagentDevdRules} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		line := 0
		for _, tok := range lexDevd(src) {
			if tok.line < line {
				t.Fatalf("token line %d after %d", tok.line, line)
			}
			line = tok.line
		}
		items, err := parseDevd("f.conf", src)
		if err != nil {
			var pe *DevdParseError
			if !errors.As(err, &pe) {
				t.Fatalf("parse error of type %T", err)
			}
			return
		}
		p := filepath.Join(dir, "devd.conf")
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if len(src) <= maxRulesFile {
			c, err := LoadDevdConf(p)
			if err == nil {
				for _, l := range vfProbes {
					if r := c.Match(mustEvent(t, l)); r != nil {
						c.Commands(r, mustEvent(t, l))
					}
				}
			}
		}
		if !roundTrippable(items) {
			return
		}
		text := renderItems(items)
		again, err := parseDevd("f.conf", []byte(text))
		if err != nil {
			t.Fatalf("written back %q: %v", text, err)
		}
		if got := renderItems(again); got != text {
			t.Fatalf("round trip\n got %q\nwant %q", got, text)
		}
	})
}

// roundTrippable: devd strings have no escapes, so a value holding a
// quote, a NUL, a backslash-newline or nothing cannot be written back.
func roundTrippable(items []devdItem) bool {
	ok := func(s string) bool {
		return s != "" && !strings.ContainsAny(s, "\"\x00") && !strings.Contains(s, "\\\n")
	}
	for _, it := range items {
		if it.rule == nil {
			if !ok(it.value) {
				return false
			}
			continue
		}
		for _, s := range it.rule.stmts {
			if !ok(s.value) || !ok(s.name) {
				return false
			}
		}
	}
	return true
}
