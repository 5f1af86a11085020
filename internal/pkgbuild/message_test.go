package pkgbuild

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tricky is message text with what an encoder can get wrong: '%' (which
// desc and scripts %-encode), JSON's quotes and backslashes, a tab,
// non-ASCII, '<' and '&', and UCL's "${" and "$$" that are not variables.
const tricky = "100% \"quoted\" and 'single', C:\\dir\\n is no newline,\ttab\n" +
	"naïve café — 日本語 <b>&amp;</b> %25 %zz ${NOPE} $HOME costs $$5"

// testVars are the variables pkg create gives the UCL parser of
// pkg-message (pkg_message_from_str in libpkg's pkg.c).
var testVars = map[string]string{"PREFIX": "/usr/local", "PKGNAME": "x", "PKGORIGIN": "sysutils/x", "MAINTAINER": "a@b"}

func TestParseMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Message
	}{{
		name: "types",
		in: `[
{ type: install
  message: <<EOM
Enable it:
  sysrc x_enable=YES
EOM
}
{
  message: <<EOT
always
EOT
},
{ type: "REMOVE",
  message=<<EOD
gone
EOD
}
]
`,
		want: []Message{{Type: "install", Message: "Enable it:\n  sysrc x_enable=YES"}, {Message: "always"}, {Type: "remove", Message: "gone"}},
	}, {
		// A here-document is raw: no escapes, and no variables in
		// this one ("$$" stays "$$" when nothing is replaced).
		name: "as written",
		in:   "[\n{ message: <<EOM\n" + tricky + "\nEOM\n}\n]\n",
		want: []Message{{Message: tricky}},
	}, {
		name: "trimmed",
		in:   "[\n{ message: <<EOM\n\n  indented\n\n  kept inside\t \n\nEOM\n}\n]\n",
		want: []Message{{Message: "indented\n\n  kept inside"}},
	}, {
		// With one variable replaced, "$$" is "$"; unknown ones stay.
		name: "variables",
		in:   "[\n{ message: <<EOM\n$PREFIX/etc ${PKGNAME} $PKGORIGIN ${MAINTAINER} $PREFIXfoo ${PREFIX costs $$5 ${NOPE} $HOME $\nEOM\n}\n]\n",
		want: []Message{{Message: "/usr/local/etc x sysutils/x a@b /usr/localfoo ${PREFIX costs $5 ${NOPE} $HOME $"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessages(tt.in, testVars)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("(-want +got)\n-%q\n+%q", tt.want, got)
			}
		})
	}
	for _, bad := range []struct{ name, in, err string }{
		{"unterminated", "[\n{\n message: <<EOM\nno end\n", "not terminated"},
		{"not a here-document", "[\n{\n message: plain\n}\n]\n", "want message: <<EOM"},
		{"lower-case tag", "[\n{\n message: <<eom\nx\neom\n}\n]\n", "want message: <<EOM"},
		{"garbage", "garbage\n", "not understood"},
		{"empty", "[\n{ message: <<EOM\nEOM\n}\n]\n", "empty message"},
		{"blank", "[\n{ message: <<EOM\n  \nEOM\n}\n]\n", "without a message"},
		{"unknown type", "[\n{ type: later\n message: <<EOM\nx\nEOM\n}\n]\n", "want install, remove or upgrade"},
		{"no message", "[\n{ type: install\n}\n]\n", "without a message"},
		{"not closed", "[\n{ message: <<EOM\nx\nEOM\n", "not closed"},
		{"nested", "[\n{\n{ message: <<EOM\nx\nEOM\n}\n]\n", "inside a message"},
		{"terminator and comma", "[\n{ message: <<EOM\nx\nEOM,\n}\n]\n", "alone on its line"},
		{"control character", "[\n{ message: <<EOM\na\x1bb\nEOM\n}\n]\n", "control character"},
		{"carriage return", "[\n{ message: <<EOM\na\r\nb\nEOM\n}\n]\n", "control character"},
		{"not UTF-8", "[\n{ message: <<EOM\na\xffb\nEOM\n}\n]\n", "not UTF-8"},
	} {
		if _, err := ParseMessages(bad.in, testVars); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%s: ParseMessages(%q) = %v, want an error containing %q", bad.name, bad.in, err, bad.err)
		}
	}
}

// manifestMessages reads the messages of a manifest the way pkg does: a
// JSON (UCL) parse of the bytes, "messages" an array of objects with
// "message" and "type", the strings taken as they are
// (pkg_message_from_ucl in libpkg's pkg.c).
func manifestMessages(t *testing.T, manifest []byte) []Message {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(manifest, &top); err != nil {
		t.Fatalf("the manifest is not JSON: %v\n%s", err, manifest)
	}
	arr, ok := top["messages"].([]any)
	if !ok {
		t.Fatalf("manifest \"messages\" = %#v, want an array", top["messages"])
	}
	var out []Message
	for _, v := range arr {
		obj, _ := v.(map[string]any)
		text, ok := obj["message"].(string)
		if !ok {
			t.Fatalf("message object %#v has no string \"message\"", v)
		}
		typ, _ := obj["type"].(string)
		out = append(out, Message{Message: text, Type: typ})
	}
	return out
}

// TestManifestEncoding checks the manifest's strings as pkg reads them:
// the messages as they are, desc and scripts through url_decode.
func TestManifestEncoding(t *testing.T) {
	script := `[ -e "${PKG_ROOTDIR%/}"'/a' ] || echo 100%`
	m := Manifest{Name: "x", Desc: "100% naïve\nline", Messages: []Message{{Message: tricky, Type: "remove"}, {Message: "é"}},
		Scripts: map[string]string{"post-install": script}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := manifestMessages(t, b); !reflect.DeepEqual(got, m.Messages) {
		t.Errorf("messages read back (-want +got)\n-%q\n+%q", m.Messages, got)
	}
	for _, want := range []string{`"desc":"100%25 na%c3%afve\nline"`, `${PKG_ROOTDIR%25/}`, `<b>&amp;</b>`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("manifest lacks %s, as pkg writes it:\n%s", want, b)
		}
	}
	got, err := UnmarshalManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Desc != m.Desc || got.Scripts["post-install"] != script || !reflect.DeepEqual(got.Messages, m.Messages) {
		t.Errorf("round trip: %+v", got)
	}
}

// TestPkgDecode pins libpkg's url_decode: only '%' and two hex digits
// is a byte.
func TestPkgDecode(t *testing.T) {
	for in, want := range map[string]string{
		"%25": "%", "a%c3%AFb": "aïb", "${X%/}": "${X%/}", "%zz": "%zz", "%2": "%2", "%": "%", "50%2": "50%2",
	} {
		if got := pkgDecode(in); got != want {
			t.Errorf("pkgDecode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzPkgEncode(f *testing.F) {
	f.Add("100% naïve")
	f.Add("${PKG_ROOTDIR%/}%2")
	f.Fuzz(func(t *testing.T, s string) {
		if got := pkgDecode(pkgEncode(s)); got != s {
			t.Errorf("pkgDecode(pkgEncode(%q)) = %q", s, got)
		}
	})
}

// TestPortMessageInPackage writes a port whose pkg-message holds the
// tricky text, builds a package with its messages, and reads +MANIFEST
// out of the archive as pkg would: each message is the here-document of
// pkg-message, byte for byte.
func TestPortMessageInPackage(t *testing.T) {
	needXZ(t)
	dir := t.TempDir()
	remove := "pkg delete keeps /usr/local/etc/x/x.conf if you edited it."
	files := map[string]string{
		"Makefile":    "PORTNAME=\tx\nCATEGORIES=\tsysutils\nMAINTAINER=\ta@b\n",
		"pkg-descr":   "x\n",
		"pkg-plist":   "sbin/x\n",
		"pkg-message": "[\n{ type: install\n  message: <<EOM\n" + tricky + "\nEOM\n}\n{ type: remove\n  message: <<EOM\n" + remove + "\nEOM\n}\n]\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port, err := LoadPort(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := testPackage()
	p.Manifest.Messages = port.Messages
	var buf bytes.Buffer
	if err := p.Write(&buf, XZ{}); err != nil {
		t.Fatal(err)
	}
	a, err := Read(&buf, XZ{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{{Message: tricky, Type: "install"}, {Message: remove, Type: "remove"}}
	for i, name := range []string{"+COMPACT_MANIFEST", "+MANIFEST"} {
		if got := manifestMessages(t, a.Entries[i].Data); !reflect.DeepEqual(got, want) {
			t.Errorf("%s messages (-want +got)\n-%q\n+%q", name, want, got)
		}
	}
}

func FuzzParseMessages(f *testing.F) {
	f.Add("[\n{ type: install\n  message: <<EOM\n" + tricky + "\nEOM\n}\n]\n")
	f.Add("[\n{ message: <<EOM\n$PREFIX $$ ${PKGNAME}\nEOM\n}\n]\n")
	f.Fuzz(func(t *testing.T, s string) {
		msgs, err := ParseMessages(s, testVars)
		if err != nil || len(msgs) == 0 {
			return
		}
		b, err := Manifest{Messages: msgs}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := manifestMessages(t, b); !reflect.DeepEqual(got, msgs) {
			t.Errorf("messages through the manifest (-want +got)\n-%q\n+%q", msgs, got)
		}
	})
}
