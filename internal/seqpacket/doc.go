// Package seqpacket is the socket side of the transport that hvagent(8)
// describes under --kvp.device: one SOCK_SEQPACKET datagram carries
// exactly what one read, write or ioctl on the FreeBSD device would. kvp
// and vss use it the same way; only the message size and the names in
// errors differ.
//
// It owns dialling the socket, waiting for a datagram under a context,
// and reading and writing whole datagrams. It knows no message format;
// the character device is package chardev's.
package seqpacket
