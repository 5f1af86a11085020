//go:build unix

package metrics

import "syscall"

// fileLimit returns the soft and hard RLIMIT_NOFILE.
func fileLimit() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	return uint64(r.Cur), uint64(r.Max), nil
}
