package fstrust

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrUntrusted is wrapped by every *Error: test with errors.Is.
var ErrUntrusted = errors.New("untrusted path")

// ErrSymlink reports a symbolic link where a file must be: it is refused,
// never followed.
var ErrSymlink = errors.New("is a symbolic link: refused, not followed")

// ErrNotRegular reports something other than a regular file (a FIFO, a
// device, a directory) where a file must be.
var ErrNotRegular = errors.New("is not a regular file")

// Error describes the first directory of a path that fails the check:
// what is wrong with it and the command that fixes it.
type Error struct {
	Path    string // the offending directory or link
	Problem string // e.g. "is writable by group or others (mode 0775)"
	Fix     string // e.g. "chmod go-w /var/db"
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s; fix it with: %s", e.Path, e.Problem, e.Fix)
}

// Unwrap makes errors.Is(err, ErrUntrusted) true.
func (e *Error) Unwrap() error { return ErrUntrusted }

// maxSymlinks bounds the links CheckDir follows, as the kernel's own
// lookup does (FreeBSD sys/sys/param.h MAXSYMLINKS 32; Linux
// include/linux/namei.h MAXSYMLINKS 40): more means a loop.
const maxSymlinks = 32

// CheckDir reports whether dir may be trusted by a process running as uid
// (see the package comment). It walks from / down, with Lstat, so nothing
// on the way is taken on trust. A missing component gives an error that
// wraps fs.ErrNotExist; an untrusted one an *Error.
func CheckDir(dir string, uid int) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	fi, err := os.Lstat("/")
	if err != nil {
		return err
	}
	if err := checkDir("/", fi, uid, abs == "/"); err != nil {
		return err
	}
	cur, rest, links := "/", split(abs), 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		if name == ".." {
			cur = filepath.Dir(cur) // cur holds no links: lexical is right
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return err // *PathError naming next; wraps fs.ErrNotExist if missing
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxSymlinks {
				return &Error{Path: next, Problem: "leads through too many symbolic links", Fix: "point the setting at the real directory instead of " + next}
			}
			if err := checkOwner(next, fi, uid); err != nil {
				return err
			}
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(split(target), rest...)
			continue
		}
		if err := checkDir(next, fi, uid, len(rest) == 0); err != nil {
			return err
		}
		cur = next
	}
	return nil
}

// split returns the names of path, without empty and "." names.
func split(path string) []string {
	var names []string
	for _, n := range strings.Split(path, "/") {
		if n != "" && n != "." {
			names = append(names, n)
		}
	}
	return names
}

// checkDir checks one directory of the walk; last is the directory asked
// about, which gets no sticky-bit exception.
func checkDir(path string, fi fs.FileInfo, uid int, last bool) error {
	if !fi.IsDir() {
		return &Error{Path: path, Problem: "is not a directory", Fix: "rm " + path + " (or point the setting elsewhere)"}
	}
	if err := checkOwner(path, fi, uid); err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return nil
	}
	if !last && fi.Mode()&fs.ModeSticky != 0 {
		if o, _ := owner(fi); o == 0 {
			return nil
		}
	}
	return &Error{Path: path, Problem: fmt.Sprintf("is writable by group or others (mode %#o)", perm), Fix: "chmod go-w " + path}
}

func checkOwner(path string, fi fs.FileInfo, uid int) error {
	o, ok := owner(fi)
	if !ok {
		return fmt.Errorf("%s: owner unknown: %w", path, errors.ErrUnsupported)
	}
	if o == 0 || o == uid {
		return nil
	}
	who := "root"
	if uid != 0 {
		who = fmt.Sprintf("root or uid %d", uid)
	}
	return &Error{Path: path, Problem: fmt.Sprintf("is owned by uid %d, not %s", o, who), Fix: "chown root " + path}
}
