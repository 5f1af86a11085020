//go:build unix

package kvptest

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/internal/chardev"
	"github.com/hvagent/hvagent/internal/chardev/chardevtest"
	"github.com/hvagent/hvagent/kvp"
)

// NewLinuxDevice returns a model of Linux's /dev/vmbus/hv_kvp:
// chardevtest.LinuxDevice (hv_utils_transport.c) with hv_kvp.c's message
// size and handshake. opts.Path defaults to chardev.LinuxKVPPath;
// MsgSize and Handshake are set here. kvp.OpenLinuxVia runs the agent's
// device code against its Sys; LinuxDo plays the host.
func NewLinuxDevice(opts chardevtest.LinuxOptions) *chardevtest.LinuxDevice {
	if opts.Path == "" {
		opts.Path = chardev.LinuxKVPPath
	}
	opts.MsgSize = kvp.LinuxMsgSize
	opts.Handshake = linuxHandshake
	return chardevtest.NewLinuxDevice(opts)
}

// linuxHandshake is hv_kvp.c's kvp_on_msg before registration: a
// message shorter than struct hv_kvp_msg is EINVAL; kvp_handle_handshake
// answers KVP_OP_REGISTER1 and KVP_OP_REGISTER with kvp_register(that
// operation) and HV_DRV_VERSION, and refuses anything else with EINVAL.
func linuxHandshake(msg []byte) ([]byte, error) {
	if len(msg) < kvp.LinuxMsgSize {
		return nil, unix.EINVAL
	}
	switch op := kvp.Op(msg[0]); op {
	case kvp.OpRegister1, kvp.OpRegister:
		answer := kvp.Linux.EncodeRegister(kvp.LinuxDriverVersion)
		answer[0] = byte(op)
		return answer, nil
	}
	return nil, unix.EINVAL
}

// LinuxDo sends req to the daemon on d as the Linux kernel hands it over
// and decodes the reply where hv_kvp.c reads it, with d's deadline.
func LinuxDo(ctx context.Context, d *chardevtest.LinuxDevice, req kvp.Msg) (kvp.Msg, error) {
	return do(ctx, kvp.Linux, func(ctx context.Context, b []byte) ([]byte, error) {
		return d.Request(ctx, b, 0)
	}, req)
}
