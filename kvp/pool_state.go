package kvp

import "time"

// fileState is what the read path compares to decide whether the records
// in memory still show the pool file: one fstat(2) of the descriptor, no
// lock. Any writer's change moves at least one of these: an append or a
// truncation the size, a write in place the mtime and the ctime, a
// rename over the path or an unlink the link count and the ctime of the
// file we hold (and the path check of begin then follows the path).
type fileState struct {
	dev, ino uint64
	nlink    uint64
	size     int64
	mtime    int64 // nanoseconds since the epoch
	ctime    int64
}

// racyWindow is how close to a file's last change a state may be recorded
// and still be trusted by the unlocked read path. A file system clock
// ticks coarser than the changes it stamps: Linux stamps files from a
// clock that advances once a jiffy (current_time in fs/inode.c reads the
// coarse clock; a jiffy is at most 10 ms, at HZ=100), FreeBSD from
// vfs_timestamp (sys/kern/vfs_subr.c), to the microsecond by default
// (vfs.timestamp_precision=2). A second change within the tick of the one
// we loaded could leave size, mtime and ctime as they were, so a state
// recorded within racyWindow of its mtime or ctime is "racy" (the term is
// git's, for its index): the read path then takes the locks and reads the
// file again until a load finds it older than that.
//
// With vfs.timestamp_precision=0 (whole seconds) the window is too short
// for a writer that rewrites a record in place, in the same second, with
// a value of the same size; the known writers append (cloud-init,
// azure-init) or are hvagent itself, whose updates always move the mtime
// (see touch).
const racyWindow = 20 * time.Millisecond

// racy reports whether st was recorded, at now, too soon after the
// file's last change to rule out a second change in the same clock tick.
func (st fileState) racy(now time.Time) bool {
	return now.UnixNano()-max(st.mtime, st.ctime) < int64(racyWindow)
}
