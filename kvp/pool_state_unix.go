//go:build linux || freebsd

package kvp

import "golang.org/x/sys/unix"

// fstatState is the pool file's state as fstat(2) reports it on fd. It
// allocates nothing, so the read path can afford it for every request.
func fstatState(fd int) (fileState, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileState{}, err
	}
	return fileState{
		dev:   uint64(st.Dev),
		ino:   uint64(st.Ino),
		nlink: uint64(st.Nlink),
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
	}, nil
}
