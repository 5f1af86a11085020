package commandtest

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

// WaitGone waits for the process pid, which a command under test
// started, to be gone, and fails tb (killing it) if it is still there
// 30 s later: a hang detector, not a performance bound. A reparented
// grandchild is reaped by init soon after its death; until then
// kill(pid, 0) still finds the zombie.
func WaitGone(tb testing.TB, pid int) {
	tb.Helper()
	for i := 0; ; i++ {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if i == 3000 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			tb.Fatalf("process %d still alive 30 s after it should have been killed (%v)", pid, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
