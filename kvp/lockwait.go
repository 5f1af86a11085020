package kvp

import (
	"errors"
	"time"
)

// lockTimeout bounds how long a pool operation waits for another writer's
// lock. The kernel gives a request 5 s; a pool held longer than this
// (a stuck cloud-init, say) gets HV_E_FAIL in time instead of a silent
// kernel timeout, and the daemon stays free for the next request.
const lockTimeout = 3 * time.Second

// ErrLockTimeout reports a pool file locked by someone else for too long.
var ErrLockTimeout = errors.New("pool file locked by another process for too long")

// waitLock calls try until it takes the lock (busy false, err nil), fails
// (err not nil), or lockTimeout passes, sleeping with capped backoff.
func waitLock(try func() (busy bool, err error)) error {
	deadline := time.Now().Add(lockTimeout)
	delay := 100 * time.Microsecond
	for {
		busy, err := try()
		switch {
		case err != nil:
			return err
		case !busy:
			return nil
		case time.Now().After(deadline):
			return ErrLockTimeout
		}
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}
