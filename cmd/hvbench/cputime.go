package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// cpuTime is the CPU time all threads of process pid have run so far, in
// kernel and user mode together: the sum over /proc/PID/task/*/schedstat
// of its first field, nanoseconds on the CPU (Documentation/scheduler/
// sched-stats.rst in Linux; proc_pid_schedstat in fs/proc/base.c). Unlike
// a latency it does not depend on where and when the scheduler ran the
// process, only on the work it did, so it shows what the agent adds to a
// request even when the round trips themselves are noisy. ok is false
// where there is no such file (not Linux, or a kernel without
// CONFIG_SCHED_INFO); a thread that ended meanwhile takes its time with it,
// which the agent's long-lived threads do not.
func cpuTime(pid int) (d time.Duration, ok bool) {
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat"))
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that has just ended
		}
		f, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte(" "))
		ns, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, false
		}
		d += time.Duration(ns)
	}
	return d, true
}

// cpuMeter measures the CPU time a process spends over a stretch of
// requests.
type cpuMeter struct {
	pid   int
	start time.Duration
	ok    bool
}

func startCPU(pid int) cpuMeter {
	d, ok := cpuTime(pid)
	return cpuMeter{pid: pid, start: d, ok: ok}
}

// perRequest is the CPU time spent since startCPU divided by requests,
// or false if it could not be read.
func (m cpuMeter) perRequest(requests int) (time.Duration, bool) {
	d, ok := cpuTime(m.pid)
	if !m.ok || !ok || requests == 0 {
		return 0, false
	}
	return (d - m.start) / time.Duration(requests), true
}
