package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"syscall"
)

// Pool file layout: <dir>/.kvp_pool_N for N = 0..4, each a
// plain array of 2560-byte records (key[512], value[2048]), as
// contrib/hyperv/tools/hv_kvp_daemon.c writes them
// (HV_KVP_EXCHANGE_MAX_KEY_SIZE + HV_KVP_EXCHANGE_MAX_VALUE_SIZE).
const (
	numPools   = 5
	recordSize = 512 + 2048
	// hostRecordLimit is how many records of a pool the host is
	// observed to read (hvagent(8), KVP POOLS, Limits).
	hostRecordLimit = 1024
)

// checkTrustedDir applies the trusted-directory rule (hvagent(8),
// --kvp.pool-dir; package fstrust) to dir
// and every parent: owned by root or the agent's user and not writable
// by group or others, except a root-owned sticky parent such as /tmp.
// missing says what a missing dir means.
func checkTrustedDir(r *Report, env Env, id, dir, missing string) {
	f := Finding{ID: id, Subject: dir}
	if dir == "" {
		f.Status, f.Seen = Info, "not set"
		r.add(f)
		return
	}
	dir = filepath.Clean(dir)
	fi, err := env.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Status, f.Seen = Info, "does not exist: "+missing
	case err != nil:
		f.Status, f.Seen, f.Remedy = Warn, fmt.Sprintf("cannot stat: %v", err), "run hvagent doctor as root"
	case !fi.IsDir():
		f.Status, f.Seen = Fail, "not a directory"
		f.Remedy = "remove it or name a directory"
	default:
		f.Status, f.Seen = OK, fmt.Sprintf("mode %04o, owner uid %s", fi.Mode().Perm(), ownerOf(fi))
		if bad := untrusted(env, fi, false); bad != "" {
			f.Status, f.Seen = Fail, bad
			f.Remedy = fmt.Sprintf("chown root %s && chmod go-w %s", dir, dir)
		} else if id == "kvp.pool-dir" && fi.Mode().Perm()&0o077 != 0 {
			f.Status = Warn
			f.Seen += ": readable by others, and pools may hold secrets"
			f.Remedy = "chmod 0700 " + dir + " (the agent also tightens it when it starts)"
		}
	}
	if f.Status != Fail {
		if p, bad := untrustedParent(env, dir); bad != "" {
			f.Status, f.Seen = Fail, fmt.Sprintf("parent %s %s: whoever can write it can replace %s", p, bad, dir)
			f.Remedy = fmt.Sprintf("chown root %s && chmod go-w %s", p, p)
		}
	}
	r.add(f)
}

// untrustedParent returns the first parent of dir that breaks the rule.
func untrustedParent(env Env, dir string) (string, string) {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if fi, err := env.Stat(p); err == nil {
			if bad := untrusted(env, fi, true); bad != "" {
				return p, bad
			}
		}
		if p == filepath.Dir(p) {
			return "", ""
		}
	}
}

// untrusted says what is wrong with a directory's owner or mode, or "".
// A parent may be writable by others if it is root's and sticky.
func untrusted(env Env, fi fs.FileInfo, parent bool) string {
	uid, ok := uidOf(fi)
	if ok && uid != 0 && uid != env.Euid {
		return fmt.Sprintf("is owned by uid %d, neither root nor the agent's user", uid)
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return ""
	}
	if parent && fi.Mode()&fs.ModeSticky != 0 && ok && uid == 0 {
		return ""
	}
	return fmt.Sprintf("is writable by group or others (mode %04o)", perm)
}

func uidOf(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

func ownerOf(fi fs.FileInfo) string {
	if uid, ok := uidOf(fi); ok {
		return strconv.Itoa(uid)
	}
	return "unknown"
}

// checkPoolFiles looks at each pool file without opening it: type,
// mode, and whether its size is whole records within the host's limit.
func checkPoolFiles(r *Report, env Env, dir string) {
	var present int
	for n := range numPools {
		path := filepath.Join(dir, ".kvp_pool_"+strconv.Itoa(n))
		fi, err := env.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		f := Finding{ID: "kvp.pool-file", Subject: path}
		switch {
		case err != nil:
			f.Status, f.Seen, f.Remedy = Warn, fmt.Sprintf("cannot stat: %v", err), "run hvagent doctor as root"
		case fi.Mode().Type() == fs.ModeSymlink:
			f.Status, f.Seen = Fail, "a symbolic link: pool files are never followed through a link"
			f.Remedy = "replace the link with the file it points at"
		case !fi.Mode().IsRegular():
			f.Status, f.Seen = Fail, fmt.Sprintf("not a regular file (%s)", fi.Mode().Type())
			f.Remedy = "remove it; the agent creates the pool file"
		case fi.Size()%recordSize != 0:
			f.Status = Warn
			f.Seen = fmt.Sprintf("%d bytes, not a whole number of %d-byte records: a writer was cut off", fi.Size(), recordSize)
			f.Remedy = "check the records with 'hvagent kvp list'; the partial record at the end is ignored"
		case fi.Size()/recordSize > hostRecordLimit:
			f.Status = Warn
			f.Seen = fmt.Sprintf("%d records; the host reads about %d per pool", fi.Size()/recordSize, hostRecordLimit)
			f.Remedy = "delete records nobody needs with 'hvagent kvp delete'"
		case fi.Mode().Perm()&0o077 != 0:
			f.Status, f.Seen = Warn, fmt.Sprintf("mode %04o: readable by others", fi.Mode().Perm())
			f.Remedy = "chmod 0600 " + path + " (the agent also tightens it when it opens the pool)"
		default:
			present++
			continue
		}
		r.add(f)
	}
	if present > 0 {
		r.add(Finding{ID: "kvp.pool-file", Subject: dir, Status: OK,
			Seen: fmt.Sprintf("%d pool file(s) well-formed, mode 0600 or tighter", present)})
	}
}
