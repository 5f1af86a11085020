package doctor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hvagent/hvagent/internal/command"
)

// Process is a process that has a file open.
type Process struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
}

// FstatHolders finds holders with FreeBSD's fstat(1): "fstat PATH" lists
// the open files of every process that are PATH, and nothing else.
func FstatHolders(run command.Runner) func(context.Context, string) ([]Process, error) {
	return func(ctx context.Context, path string) ([]Process, error) {
		r := run.Run(ctx, command.Cmd{Argv: []string{"fstat", path}, Timeout: fstatTimeout})
		if r.Err != nil {
			return nil, r.Err
		}
		return ParseFstat(string(r.Stdout))
	}
}

// fstatTimeout bounds fstat(1), which walks every process's files.
const fstatTimeout = time.Minute

// fstatHeader starts fstat(1)'s header line; with file operands and no
// -f or -n it ends in " NAME" (usr.bin/fstat/fstat.c, fstat1):
//
//	USER     CMD          PID   FD MOUNT      INUM MODE         SZ|DV R/W NAME
const fstatHeader = "USER "

// fdWords are what fstat prints instead of a descriptor number for a
// process's text, working directory, root, ktrace file, mmap, jail root
// and controlling terminal (usr.bin/fstat/fstat.c, print_file_info).
var fdWords = []string{"text", "wd", "root", "tr", "mmap", "jail", "ctty"}

// ParseFstat reads fstat(1)'s output. Each entry starts with
// printf("%-8.8s %-10s %5d", uname, cmd, pid) and then the descriptor
// (" %4d" or one of fdWords), so the user is the first field, the PID is
// the first number that a descriptor follows, and the command is what
// stands between (ki_comm may be longer than 10 bytes and, in theory,
// hold a space). A process with the file open twice is listed once.
func ParseFstat(out string) ([]Process, error) {
	var procs []Process
	sc := bufio.NewScanner(strings.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || (n == 1 && strings.HasPrefix(line, fstatHeader)) {
			continue
		}
		p, ok := parseFstatLine(strings.Fields(line))
		if !ok {
			return nil, fmt.Errorf("fstat: line %d: unexpected format: %q", n, line)
		}
		if !slices.Contains(procs, p) {
			procs = append(procs, p)
		}
	}
	return procs, sc.Err()
}

func parseFstatLine(f []string) (Process, bool) {
	for i := 2; i+1 < len(f); i++ {
		pid, err := strconv.Atoi(f[i])
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := strconv.Atoi(f[i+1]); err == nil || slices.Contains(fdWords, f[i+1]) {
			return Process{PID: pid, Command: strings.Join(f[1:i], " ")}, true
		}
	}
	return Process{}, false
}

// ProcHolders finds holders the Linux way: every /proc/PID/fd/N link
// that reads back as path (proc(5)), with the command from
// /proc/PID/comm. root is "/proc", or a fake tree in tests. Processes
// that vanish or whose descriptors are not ours to read are skipped.
func ProcHolders(root string) func(context.Context, string) ([]Process, error) {
	return func(ctx context.Context, path string) ([]Process, error) {
		ents, err := os.ReadDir(root)
		if err != nil {
			return nil, fmt.Errorf("list processes: %w", err)
		}
		self := os.Getpid()
		var procs []Process
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if holds(filepath.Join(root, e.Name(), "fd"), path) {
				comm, _ := os.ReadFile(filepath.Join(root, e.Name(), "comm"))
				procs = append(procs, Process{PID: pid, Command: strings.TrimSpace(string(comm))})
			}
		}
		return procs, nil
	}
}

func holds(fdDir, path string) bool {
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}
