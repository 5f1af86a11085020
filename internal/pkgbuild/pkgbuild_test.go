package pkgbuild

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePlist(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Entry
		err  string
	}{{
		name: "forms",
		in: `@comment installed by the port
sbin/hvagent

@dir etc/hvagent
@sample(root,wheel,0600) etc/hvagent/web.yml.sample
@sample etc/hvagent/b.conf.sample
@(,,0444) share/doc/x
/boot/modules/abs.ko
`,
		want: []Entry{
			{Path: "sbin/hvagent"},
			{Path: "etc/hvagent", Keyword: "dir"},
			{Path: "etc/hvagent/web.yml.sample", Keyword: "sample", Owner: "root", Group: "wheel", Mode: 0o600},
			{Path: "etc/hvagent/b.conf.sample", Keyword: "sample"},
			{Path: "share/doc/x", Mode: 0o444},
			{Path: "/boot/modules/abs.ko"},
		},
	},
		{name: "unknown keyword", in: "@exec echo hi\n", err: "not supported"},
		{name: "unknown substitution", in: "%%FOODIR%%/x\n", err: "PLIST_SUB does not hold"},
		{name: "unclean", in: "sbin/../etc/x\n", err: "not a clean path"},
		{name: "escape", in: "../x\n", err: "not a clean path"},
		{name: "dot", in: "@dir .\n", err: "not a clean path"},
		{name: "root", in: "/\n", err: "not a clean path"},
		{name: "sample suffix", in: "@sample etc/x.conf\n", err: "must end in .sample"},
		{name: "bad mode", in: "@(root,wheel,9) x\n", err: "mode"},
		{name: "bad attrs", in: "@(root,wheel) x\n", err: "owner,group,mode"},
		{name: "spaces", in: "a b\n", err: "without spaces"},
		{name: "keyword alone", in: "@dir\n", err: "without a path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePlist(strings.NewReader(tt.in), PlistSub("x", true))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("(-want +got)\n-%+v\n+%+v", tt.want, got)
			}
		})
	}
	if got := (Entry{Path: "etc/a.yml.sample", Keyword: "sample"}).Target(); got != "etc/a.yml" {
		t.Errorf("Target = %q", got)
	}
}

// TestPlistSub checks the PLIST_SUB forms of pkg-plist: the directories,
// and an example line that the EXAMPLES option turns into a comment.
func TestPlistSub(t *testing.T) {
	in := "@dir %%ETCDIR%%\n%%ETCDIR%%/a.sample\n%%PORTEXAMPLES%%%%EXAMPLESDIR%%/b.yml\n%%DATADIR%%/c\n"
	for _, tt := range []struct {
		examples bool
		want     []string
	}{
		{true, []string{"etc/x", "etc/x/a.sample", "share/examples/x/b.yml", "share/x/c"}},
		{false, []string{"etc/x", "etc/x/a.sample", "share/x/c"}},
	} {
		entries, err := ParsePlist(strings.NewReader(in), PlistSub("x", tt.examples))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Path)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("EXAMPLES %v: (-want +got)\n-%q\n+%q", tt.examples, tt.want, got)
		}
	}
}

func FuzzParsePlist(f *testing.F) {
	f.Add("sbin/x\n@dir etc/x\n@sample(root,wheel,0600) etc/x/a.sample\n")
	f.Add("@(,,0444) a\n@comment x\n")
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := ParsePlist(strings.NewReader(s), PlistSub("x", true))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Path == "" || e.Path == "." || e.Path == "/" || strings.HasPrefix(e.Path, "../") || strings.ContainsAny(e.Path, " \t") {
				t.Errorf("accepted entry %+v", e)
			}
		}
	})
}

func TestABI(t *testing.T) {
	for _, tt := range []struct{ goarch, abi, arch string }{
		{"amd64", "FreeBSD:14:amd64", "freebsd:14:x86:64"},
		{"arm64", "FreeBSD:14:aarch64", "freebsd:14:aarch64:64"},
	} {
		abi, arch, err := ABI(tt.goarch, 14)
		if err != nil || abi != tt.abi || arch != tt.arch {
			t.Errorf("ABI(%s, 14) = %q, %q, %v; want %q, %q", tt.goarch, abi, arch, err, tt.abi, tt.arch)
		}
	}
	if _, _, err := ABI("riscv64", 14); err == nil {
		t.Error("ABI(riscv64) succeeded")
	}
}

func testPackage() *Package {
	return &Package{
		Manifest: Manifest{Name: "t", Origin: "sysutils/t", Version: "1.0", Prefix: "/usr/local",
			Licenses: []string{"BSD2CLAUSE"}, LicenseLogic: "single", Scripts: map[string]string{"post-install": "true"}},
		Files: []File{
			{Path: "/usr/local/sbin/t", Mode: 0o555, Data: []byte("\x7fELF binary")},
			{Path: "/usr/local/etc/t/t.conf.sample", Mode: 0o644, Data: []byte("a=1\n")},
		},
		Dirs:  []string{"/usr/local/etc/t"},
		MTime: time.Unix(1700000000, 0),
	}
}

func needXZ(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skipf("xz is not on PATH: %v", err)
	}
}

func TestWriteReadVerify(t *testing.T) {
	needXZ(t)
	var buf bytes.Buffer
	if err := testPackage().Write(&buf, XZ{}); err != nil {
		t.Fatal(err)
	}
	a, err := Read(bytes.NewReader(buf.Bytes()), XZ{})
	if err != nil {
		t.Fatal(err)
	}
	if errs := a.Verify(); len(errs) > 0 {
		t.Fatalf("Verify: %v", errs)
	}
	if a.Manifest.Flatsize != int64(len("\x7fELF binary")+len("a=1\n")) {
		t.Errorf("flatsize = %d", a.Manifest.Flatsize)
	}
	if a.Compact.Files != nil || a.Compact.Scripts != nil || a.Manifest.Scripts["post-install"] != "true" {
		t.Errorf("compact manifest %+v, manifest scripts %v", a.Compact, a.Manifest.Scripts)
	}
	e, ok := a.Find("/usr/local/sbin/t")
	if !ok || e.Header.Mode != 0o555 || !e.Header.ModTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("binary entry %+v", e.Header)
	}
	// The same package twice is the same bytes.
	var again bytes.Buffer
	if err := testPackage().Write(&again, XZ{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two builds of the same package differ")
	}
}

// TestVerifyFindsDefects tampers with a package and checks that Verify
// names each defect.
func TestVerifyFindsDefects(t *testing.T) {
	needXZ(t)
	read := func(p *Package) *Archive {
		var buf bytes.Buffer
		if err := p.Write(&buf, XZ{}); err != nil {
			t.Fatal(err)
		}
		a, err := Read(&buf, XZ{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name   string
		tamper func(a *Archive)
		want   string
	}{
		{"content changed", func(a *Archive) { a.Entries[3].Data = []byte("other") }, "manifest checksum"},
		{"file missing", func(a *Archive) { a.Entries = a.Entries[:len(a.Entries)-1] }, "in the manifest but not in the archive"},
		{"file unlisted", func(a *Archive) { delete(a.Manifest.Files, "/usr/local/sbin/t") }, "in the archive but not in the manifest"},
		{"flatsize", func(a *Archive) { a.Manifest.Flatsize++ }, "flatsize"},
		{"owner", func(a *Archive) { a.Entries[3].Header.Uname = "build" }, "root:wheel"},
		{"compact", func(a *Archive) { a.Compact.Version = "2.0" }, "COMPACT_MANIFEST"},
		{"directory", func(a *Archive) { delete(a.Manifest.Directories, "/usr/local/etc/t") }, "directory in the archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := read(testPackage())
			tt.tamper(a)
			errs := a.Verify()
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tt.want) {
				t.Errorf("Verify = %q, want an error containing %q", msgs, tt.want)
			}
		})
	}
}

func TestPackageCheck(t *testing.T) {
	for _, bad := range []string{"usr/local/x", "/usr/local/../x", "/"} {
		p := testPackage()
		p.Files[0].Path = bad
		if err := p.WriteTar(&bytes.Buffer{}); err == nil {
			t.Errorf("WriteTar accepted the path %q", bad)
		}
	}
	p := testPackage()
	p.Files = append(p.Files, p.Files[0])
	if err := p.WriteTar(&bytes.Buffer{}); err == nil {
		t.Error("WriteTar accepted a duplicate file")
	}
}
