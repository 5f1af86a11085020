//go:build (linux || freebsd) && (amd64 || arm64)

package vss

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// startFreezer prepares the child's data, forks it and starts the
// goroutines that read its reports and reap it.
func startFreezer(targets []Target, selfThaw time.Duration) (*Frozen, error) {
	d, keep, err := newChildData(targets)
	if err != nil {
		return nil, err
	}
	d.timeout = makeTimeout(selfThaw)
	var lim syscall.Rlimit
	d.fdLimit = 1 << 16
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < 1<<20 {
		d.fdLimit = uintptr(lim.Cur)
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("vss: freezer pipe: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, fmt.Errorf("vss: freezer pipe: %w", err)
	}
	d.cmdFd, d.repFd = cmdR.Fd(), repW.Fd()
	pid, err := forkFreezer(d)
	runtime.KeepAlive(keep)
	cmdR.Close()
	repW.Close()
	if err != nil {
		cmdW.Close()
		repR.Close()
		return nil, fmt.Errorf("vss: fork freezer: %w", err)
	}
	f := &Frozen{pid: pid, targets: targets, cmd: cmdW, reports: make(chan record, 4), exited: make(chan struct{})}
	go readReports(repR, f.reports)
	go func() {
		for {
			_, err := syscall.Wait4(pid, &f.status, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
		close(f.exited)
	}()
	return f, nil
}
