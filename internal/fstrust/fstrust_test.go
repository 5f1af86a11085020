//go:build unix

package fstrust

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mkdir creates dir with exactly mode (chmod, so the umask does not
// interfere) and returns it.
func mkdir(t *testing.T, dir string, mode fs.FileMode) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another owner")
	}
}

func TestCheckDir(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir() // under /tmp: root's, sticky
	tests := []struct {
		name     string
		setup    func(t *testing.T) string
		root     bool   // needs root
		wantPath string // "" means trusted; else the path the error names
		wantFix  string // a part of the fix
	}{
		{"private dir", func(t *testing.T) string { return mkdir(t, filepath.Join(base, "ok"), 0o700) }, false, "", ""},
		{"read bits are fine", func(t *testing.T) string { return mkdir(t, filepath.Join(base, "r"), 0o755) }, false, "", ""},
		{"group-writable dir", func(t *testing.T) string { return mkdir(t, filepath.Join(base, "gw"), 0o770) }, false, "gw", "chmod go-w"},
		{"world-writable dir", func(t *testing.T) string { return mkdir(t, filepath.Join(base, "ww"), 0o757) }, false, "ww", "chmod go-w"},
		{"group-writable parent", func(t *testing.T) string {
			p := mkdir(t, filepath.Join(base, "gwp"), 0o775)
			return mkdir(t, filepath.Join(p, "pool"), 0o700)
		}, false, "gwp", "chmod go-w"},
		{"sticky root parent", func(t *testing.T) string {
			p := mkdir(t, filepath.Join(base, "sticky"), 0o777|fs.ModeSticky)
			return mkdir(t, filepath.Join(p, "pool"), 0o700)
		}, false, "", ""},
		{"sticky dir itself", func(t *testing.T) string {
			return mkdir(t, filepath.Join(base, "stickyself"), 0o777|fs.ModeSticky)
		}, false, "stickyself", "chmod go-w"},
		{"sticky parent of another owner", func(t *testing.T) string {
			p := mkdir(t, filepath.Join(base, "stickyother"), 0o777|fs.ModeSticky)
			if err := os.Chown(p, 4242, -1); err != nil {
				t.Fatal(err)
			}
			return mkdir(t, filepath.Join(p, "pool"), 0o700)
		}, true, "stickyother", "chown root"},
		{"dir of another owner", func(t *testing.T) string {
			d := mkdir(t, filepath.Join(base, "other"), 0o700)
			if err := os.Chown(d, 4242, -1); err != nil {
				t.Fatal(err)
			}
			return d
		}, true, "other", "chown root"},
		{"link to a trusted dir", func(t *testing.T) string {
			d := mkdir(t, filepath.Join(base, "real"), 0o700)
			link := filepath.Join(base, "link")
			if err := os.Symlink("./x/../real", link); err != nil {
				t.Fatal(err)
			}
			mkdir(t, filepath.Join(base, "x"), 0o700)
			_ = d
			return link
		}, false, "", ""},
		{"link into a writable dir", func(t *testing.T) string {
			p := mkdir(t, filepath.Join(base, "open"), 0o777)
			d := mkdir(t, filepath.Join(p, "pool"), 0o700)
			link := filepath.Join(base, "link2")
			if err := os.Symlink(d, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, false, "open", "chmod go-w"},
		{"link of another owner", func(t *testing.T) string {
			d := mkdir(t, filepath.Join(base, "real3"), 0o700)
			link := filepath.Join(base, "link3")
			if err := os.Symlink(d, link); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(link, 4242, -1); err != nil {
				t.Fatal(err)
			}
			return link
		}, true, "link3", "chown root"},
		{"link loop", func(t *testing.T) string {
			link := filepath.Join(base, "loop")
			if err := os.Symlink("loop", link); err != nil {
				t.Fatal(err)
			}
			return link
		}, false, "loop", "real directory"},
		{"file, not dir", func(t *testing.T) string {
			f := filepath.Join(base, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}, false, "file", "rm "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			dir := tt.setup(t)
			err := CheckDir(dir, uid)
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("CheckDir(%s) = %v, want trusted", dir, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrUntrusted) {
				t.Fatalf("CheckDir(%s) = %v, want an *Error", dir, err)
			}
			if filepath.Base(e.Path) != tt.wantPath || !strings.Contains(e.Fix, tt.wantFix) || !strings.Contains(e.Fix, e.Path) {
				t.Fatalf("CheckDir(%s) = %v; want it to name %s and the fix %q", dir, err, tt.wantPath, tt.wantFix)
			}
		})
	}
	if err := CheckDir(filepath.Join(base, "missing", "pool"), uid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v, want fs.ErrNotExist", err)
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		flag int
		want error
	}{
		{link, os.O_RDWR | os.O_CREATE, ErrSymlink},
		{link, os.O_RDONLY, ErrSymlink},
		{link, os.O_WRONLY | os.O_CREATE | os.O_TRUNC, ErrSymlink},
		{fifo, os.O_RDONLY, ErrNotRegular}, // without O_NONBLOCK this open would hang
		{dir, os.O_RDONLY, ErrNotRegular},
		{target, os.O_WRONLY | os.O_CREATE | os.O_EXCL, fs.ErrExist},
	} {
		f, err := OpenFile(tc.path, tc.flag, 0o600)
		if !errors.Is(err, tc.want) {
			t.Errorf("OpenFile(%s, %#x) = %v, want %v", filepath.Base(tc.path), tc.flag, err, tc.want)
		}
		if f != nil {
			f.Close()
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatalf("target changed through the link: %q", b)
	}
	f, err := OpenFile(filepath.Join(dir, "new"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("data"); err != nil { // blocking mode again
		t.Fatal(err)
	}
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("created with mode %#o, want 0600", fi.Mode().Perm())
	}
}

func TestSetMtimeDoesNotFollow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(target, old, old); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	want := time.Unix(1_500_000_000, 123456789)
	if err := SetMtime(link, want); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(target); !fi.ModTime().Equal(old) {
		t.Errorf("target mtime %v changed through the link", fi.ModTime())
	}
	if err := SetMtime(target, want); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(target); !fi.ModTime().Equal(want) {
		t.Errorf("mtime %v, want %v", fi.ModTime(), want)
	}
}
