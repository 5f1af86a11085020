package vss

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/fstrust"
)

// Hook arguments (hvagent(8), VSS BACKUPS, Hooks).
const (
	HookFreeze     = "freeze"
	HookThaw       = "thaw"
	HookFreezeFail = "freeze-fail"
)

// DefaultHookTimeout bounds one hook. The freeze hooks together get
// hooksBudget, so a FREEZE still answers inside the kernel's 15 s.
const DefaultHookTimeout = 5 * time.Second

// hookOutputMax bounds how much of a hook's output reaches the log.
const hookOutputMax = 16 << 10

// Hooks runs the executables of a hooks directory.
type Hooks struct {
	Dir     string
	Timeout time.Duration // per hook; 0 means DefaultHookTimeout
	Log     *slog.Logger
}

// leftover reports names that are editor or package-manager leftovers.
func leftover(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return true
	}
	for _, suf := range []string{".bak", ".orig", ".sample", ".pkgsave", ".pkgnew", ".rpmnew", ".rpmsave", ".swp"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return strings.Contains(name, ".dpkg-")
}

// List returns the hooks in lexical order: regular executable files that
// are not leftovers. A missing directory has no hooks.
func (h *Hooks) List() ([]string, error) {
	if h == nil || h.Dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(h.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vss: hooks: %w", err)
	}
	// Whoever can write the directory, or any directory above it, can
	// swap a hook for a symlink to any root-owned program, which trusted()
	// would accept: the whole path must pass the pool directory's rule.
	if err := fstrust.CheckDir(h.Dir, os.Geteuid()); err != nil {
		return nil, fmt.Errorf("vss: hooks directory %s: no hook is run from it: %w", h.Dir, err)
	}
	var names []string
	for _, e := range ents {
		if leftover(e.Name()) {
			continue
		}
		fi, err := os.Stat(filepath.Join(h.Dir, e.Name())) // follows symlinks
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		if !trusted(fi) {
			h.Log.Warn("hook not run: writable by others or not owned by the agent's user", "hook", e.Name(), "mode", fi.Mode().Perm())
			continue
		}
		names = append(names, e.Name())
	}
	slices.Sort(names) // ReadDir sorts already; say it where it matters
	return names, nil
}

// trusted reports whether a hook may run as the agent's user (root): it
// must belong to that user and be writable by nobody else, or anyone who
// can write it runs code as root at the next backup.
func trusted(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0
}

// Run runs names in order with arg. With stopOnError it stops at the first
// failure; started is every hook it started, the failed one included (a
// failing freeze hook may have quiesced half of its application).
func (h *Hooks) Run(ctx context.Context, names []string, arg string, stopOnError bool) (started []string, err error) {
	var errs *multierror.Error
	for _, name := range names {
		if ctx.Err() != nil {
			errs = multierror.Append(errs, fmt.Errorf("vss: hook %s %s not run: %w", name, arg, ctx.Err()))
			break
		}
		started = append(started, name)
		if err := h.runOne(ctx, name, arg); err != nil {
			errs = multierror.Append(errs, err)
			if stopOnError {
				break
			}
		}
	}
	return started, errs.ErrorOrNil()
}

// runOne runs one hook in its own process group, killed (with anything it
// started) at its timeout, and never waited for much longer, even when
// stuck in the kernel: the hooks run holding the lock that THAW, the
// auto-thaw and the shutdown need. Its output goes to the log.
func (h *Hooks) runOne(ctx context.Context, name, arg string) error {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	r := command.Run(ctx, command.Cmd{Argv: []string{filepath.Join(h.Dir, name), arg}, Dir: "/",
		Timeout: timeout, MergeStderr: true, OutputCap: hookOutputMax})
	log := h.Log.With("hook", name, "arg", arg)
	sc := bufio.NewScanner(bytes.NewReader(r.Stdout))
	for sc.Scan() {
		log.Info("hook output", "line", sc.Text())
	}
	switch {
	case errors.Is(r.Err, command.ErrLeftBehind):
		r.Err = fmt.Errorf("killed after %s, %w", timeout, command.ErrLeftBehind)
	case errors.Is(r.Err, context.DeadlineExceeded):
		r.Err = fmt.Errorf("killed after %s", timeout)
	}
	if r.Err != nil {
		command.Log(ctx, log, slog.LevelError, "hook failed", r)
		return fmt.Errorf("vss: hook %s %s: %w", name, arg, r.Err)
	}
	command.Log(ctx, log, slog.LevelDebug, "hook done", r)
	return nil
}
