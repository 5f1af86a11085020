package vss

// Ioctl numbers, computed the way FreeBSD's sys/sys/ioccom.h and Linux's
// asm-generic/ioctl.h build them. They live in an untagged file so tests on
// Linux check them against the numbers the kernels' headers give
// (msg_test.go); only *_freebsd.go and *_linux.go use them.

// FreeBSD ioccom.h: IOC_VOID 0x20000000, IOC_OUT 0x40000000, IOC_IN
// 0x80000000; the parameter length sits in bits 16..28.
const (
	bsdIOCVoid = 0x20000000
	bsdIOCOut  = 0x40000000
	bsdIOCIn   = 0x80000000
)

func bsdIOC(dir uint32, group byte, num uint32, size uint32) uint32 {
	return dir | (size&0x1fff)<<16 | uint32(group)<<8 | num
}

// FreeBSD ioctls (sys/dev/hyperv/utilities/hv_snapshot.h,
// sys/ufs/ffs/fs.h).
var (
	// IOCHVVSSREAD = _IOR('v', 2, struct hv_vss_opt_msg).
	iocHVVSSRead = bsdIOC(bsdIOCOut, 'v', 2, MsgSize)
	// IOCHVVSSWRITE = _IOW('v', 3, struct hv_vss_opt_msg).
	iocHVVSSWrite = bsdIOC(bsdIOCIn, 'v', 3, MsgSize)
	// UFSSUSPEND = _IOW('U', 1, fsid_t); fsid_t is two int32.
	iocUFSSuspend = bsdIOC(bsdIOCIn, 'U', 1, 8)
	// UFSRESUME = _IO('U', 2).
	iocUFSResume = bsdIOC(bsdIOCVoid, 'U', 2, 0)
)

// Linux ioctls (include/uapi/linux/fs.h): FIFREEZE = _IOWR('X', 119, int),
// FITHAW = _IOWR('X', 120, int). _IOWR sets both direction bits (3 << 30).
const (
	linuxFIFreeze = 3<<30 | 4<<16 | 'X'<<8 | 119
	linuxFIThaw   = 3<<30 | 4<<16 | 'X'<<8 | 120
)
