package vf

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"syscall"
)

// The kernel log (/dev/kmsg) confirms what rtnetlink says and is the
// only place a failed data path switch shows. hv_netvsc prints these on
// the synthetic device with netdev_info/netdev_err, whose prefix is
// "DRIVER BUSID NAME: " (net/core/dev.c, __netdev_printk: the parent's
// dev_driver_string and dev_name, then netdev_name and
// netdev_reg_state, "" or e.g. " (unregistering)"):
//
//	drivers/net/hyperv/netvsc_drv.c, netvsc_register_vf:   "VF registering: %s"
//	drivers/net/hyperv/netvsc_drv.c, netvsc_unregister_vf: "VF unregistering: %s"
//	drivers/net/hyperv/netvsc_drv.c, netvsc_vf_changed:    "Data path switched %s VF: %s" (to, from)
//	drivers/net/hyperv/netvsc_drv.c, netvsc_vf_changed:    "Data path failed to switch %s VF: %s, err: %d" (since 5.13)
//
// Each is counted per synthetic interface; the VF's name is logged.

// Kernel events, the event label of hvagent_vf_kernel_events_total.
const (
	KernelVFRegistering   = "vf_registering"
	KernelVFUnregistering = "vf_unregistering"
	KernelSwitchedToVF    = "switched_to_vf"
	KernelSwitchedFromVF  = "switched_from_vf"
	KernelSwitchToFailed  = "switch_to_vf_failed"
	KernelSwitchFromFail  = "switch_from_vf_failed"
)

var kernelEventNames = []string{KernelVFRegistering, KernelVFUnregistering, KernelSwitchedToVF,
	KernelSwitchedFromVF, KernelSwitchToFailed, KernelSwitchFromFail}

// kernelPhrases map the text after the prefix to an event.
var kernelPhrases = []struct{ text, event string }{
	{"VF registering: ", KernelVFRegistering},
	{"VF unregistering: ", KernelVFUnregistering},
	{"Data path switched to VF: ", KernelSwitchedToVF},
	{"Data path switched from VF: ", KernelSwitchedFromVF},
	{"Data path failed to switch to VF: ", KernelSwitchToFailed},
	{"Data path failed to switch from VF: ", KernelSwitchFromFail},
}

// kernelEvent is one hv_netvsc line about a VF.
type kernelEvent struct {
	HN, VF, Event string
}

// parseKmsg reads one line of /dev/kmsg: a record's first line,
// "PRIO,SEQ,USEC,FLAGS[,…];MESSAGE" (Documentation/ABI/testing/
// dev-kmsg; kernel/printk/printk.c, info_print_ext_header), or, for a
// source without the header, the message alone. Continuation lines
// (" KEY=VALUE") and other drivers' lines are not events.
func parseKmsg(line []byte) (kernelEvent, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	if h, msg, ok := strings.Cut(s, ";"); ok && h != "" && strings.Count(h, ",") >= 3 && !strings.Contains(h, " ") {
		// PRIO is facility<<3 | level. Lines written into /dev/kmsg
		// from user space never carry the kernel's facility 0
		// (kernel/printk/printk.c, devkmsg_write enforces LOG_USER "to
		// be able to reliably distinguish kernel-generated messages"),
		// so another facility cannot be hv_netvsc's.
		prio, _, _ := strings.Cut(h, ",")
		if n, err := strconv.Atoi(prio); err != nil || n < 0 || n>>3 != 0 {
			return kernelEvent{}, false
		}
		s = msg
	}
	if !strings.HasPrefix(s, NetvscDriver+" ") {
		return kernelEvent{}, false
	}
	for _, p := range kernelPhrases {
		i := strings.Index(s, ": "+p.text)
		if i < 0 {
			continue
		}
		// "hv_netvsc BUSID NAME[ (state)]: PHRASE VF[, err: N]"
		head := strings.Fields(s[:i])
		vf, _, _ := strings.Cut(s[i+2+len(p.text):], ",")
		if len(head) < 3 || !kmsgIfName(head[2]) || !kmsgIfName(vf) {
			return kernelEvent{}, false
		}
		return kernelEvent{HN: head[2], VF: vf, Event: p.event}, true
	}
	return kernelEvent{}, false
}

// kmsgIfName reports whether s can be the interface name the kernel
// printed: 1 to IFNAMSIZ-1 (15) bytes without '/', ':' or white space
// (net/core/dev.c, dev_valid_name; include/uapi/linux/if.h, IFNAMSIZ),
// and without ',', which ends the name in the "err" lines. A line whose
// names fail this is not hv_netvsc's and counts nothing.
func kmsgIfName(s string) bool {
	return s != "" && len(s) < 16 && s != "." && s != ".." &&
		!strings.ContainsAny(s, "/:, \t\n\r\v\f")
}

// kmsgBufSize holds the longest record /dev/kmsg returns: a read
// shorter than the record fails with EINVAL (kernel/printk/printk.c,
// devkmsg_read). Records are at most CONSOLE_EXT_LOG_MAX = 8192 bytes
// before Linux 6.2 (include/linux/printk.h), and PRINTK_MESSAGE_MAX =
// 2048 since, when CONSOLE_EXT_LOG_MAX was removed
// (kernel/printk/internal.h); 8192 holds both.
const kmsgBufSize = 8192

// readKmsg passes each line r yields to fn until r ends. /dev/kmsg
// returns one record per read; other sources (a pipe in tests) may
// split or join lines, so lines are reassembled. A line longer than
// kmsgBufSize cannot be a record and is dropped whole, however the
// reads split it; the next line is intact. EPIPE means records were
// overwritten before they were read (devkmsg_read): reading goes on
// from the oldest left.
func readKmsg(r io.Reader, fn func([]byte)) error {
	buf := make([]byte, kmsgBufSize)
	var pending []byte // the current line's start, read before
	skip := false      // the current line is too long: drop it to its end
	for {
		n, err := r.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			piece := data
			if i >= 0 {
				piece = data[:i]
			}
			switch {
			case skip:
			case len(pending)+len(piece) > kmsgBufSize:
				skip, pending = true, pending[:0]
			case i < 0:
				pending = append(pending, piece...)
			case len(pending) > 0:
				fn(append(pending, piece...))
				pending = pending[:0]
			default:
				fn(piece)
			}
			if i < 0 {
				break
			}
			skip = false
			data = data[i+1:]
		}
		switch {
		case err == nil, errors.Is(err, syscall.EPIPE):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
