package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hvagent/hvagent/vf"
	"github.com/hvagent/hvagent/vss"
)

// fakeSysctl is a kernel's sysctl tree; a missing name is ErrNoSysctl.
type fakeSysctl map[string]string

func (f fakeSysctl) Sysctl(name string) (string, error) {
	v, ok := f[name]
	if !ok {
		return "", fmt.Errorf("%w: %s", vf.ErrNoSysctl, name)
	}
	return v, nil
}

// fakeFile is a FileInfo with an owner.
type fakeFile struct {
	name string
	mode fs.FileMode
	size int64
	uid  uint32
}

func (f fakeFile) Name() string       { return f.name }
func (f fakeFile) Size() int64        { return f.size }
func (f fakeFile) Mode() fs.FileMode  { return f.mode }
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.mode.IsDir() }
func (f fakeFile) Sys() any           { return &syscall.Stat_t{Uid: f.uid} }

// fakeFS is a file system of fakeFiles by path; "/" and other missing
// parents are root's 0755 directories.
type fakeFS map[string]fakeFile

func (m fakeFS) stat(path string) (fs.FileInfo, error) {
	if f, ok := m[path]; ok {
		return f, nil
	}
	if m.hasChildren(path) {
		return fakeFile{name: path, mode: fs.ModeDir | 0o755}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: path, Err: fs.ErrNotExist}
}

func (m fakeFS) hasChildren(dir string) bool {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range m {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func charDev(name string) fakeFile {
	return fakeFile{name: name, mode: fs.ModeDevice | fs.ModeCharDevice | 0o600}
}
func dir(mode fs.FileMode) fakeFile { return fakeFile{mode: fs.ModeDir | mode} }

// fakeEnv is a Hyper-V guest with both devices, held by hvagent, a
// trusted pool directory, one UFS root, and no agent answering.
func fakeEnv() Env {
	files := fakeFS{
		"/dev/hv_kvp_dev":     charDev("hv_kvp_dev"),
		"/dev/hv_fsvss_dev":   charDev("hv_fsvss_dev"),
		"/var/db/hyperv":      dir(0o755),
		"/var/db/hyperv/pool": dir(0o700),
	}
	return Env{
		Sysctl: fakeSysctl{"kern.vm_guest": "hv"},
		Stat:   files.stat,
		Lstat:  files.stat,
		Holders: func(_ context.Context, path string) ([]Process, error) {
			return []Process{{PID: 1043, Command: "hvagent"}}, nil
		},
		CanSeeAll: true,
		Mounts: func() ([]vss.Mount, error) {
			return []vss.Mount{{Dir: "/", Type: "ufs", Source: "/dev/da0p2", Dev: "1"}}, nil
		},
		Get: func(context.Context, string) ([]byte, error) {
			return nil, errors.New("connection refused")
		},
	}
}

func fakeConfig(t *testing.T) Config {
	return Config{
		KVPDevice:     "/dev/hv_kvp_dev",
		VSSDevice:     vss.DefaultDevice,
		PoolDir:       "/var/db/hyperv/pool",
		HooksDir:      t.TempDir(),
		Policy:        vss.Policy{ZFS: vss.ZFSSync},
		BaseRules:     "/nonexistent/devd.conf",
		OverrideDir:   "/nonexistent/libexec",
		VFMode:        vf.ModeAuto,
		ListenAddress: ":9855",
		OS:            "freebsd",
	}
}

// byID returns the findings with id (and subject, if not "").
func byID(r *Report, id, subject string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.ID == id && (subject == "" || f.Subject == subject) {
			out = append(out, f)
		}
	}
	return out
}

// one returns the single finding with id and subject.
func one(t *testing.T, r *Report, id, subject string) Finding {
	t.Helper()
	fs := byID(r, id, subject)
	if len(fs) != 1 {
		t.Fatalf("want one finding %s %s, got %d:\n%s", id, subject, len(fs), dump(r))
	}
	return fs[0]
}

func dump(r *Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %s %s %s: %s | %s\n", f.Status, f.ID, f.Subject, f.Seen, f.Remedy)
	}
	return b.String()
}
