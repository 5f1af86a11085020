// Command hvbench measures a host request to the KVP subsystem end to
// end, through the socket transport, against the floor of that transport
// measured in the same run.
//
//	go run ./cmd/hvbench                       # 10, 1,024 and 4,096 records
//	go run ./cmd/hvbench -protocol linux       # Linux's 7,432-byte messages
//	go run ./cmd/hvbench -records 10 -rounds 20
//	go run ./cmd/hvbench -ipinfo 1000         # GET_IP_INFO (root, ip netns)
//
// For each pool size it starts the real agent (built as for release) on a
// SOCK_SEQPACKET socket it listens on, with pool 1 holding that many
// records, and plays the host: it writes one request datagram, waits for
// the reply, and times the two together. -protocol picks the kernel's
// wire format, FreeBSD's (7,430 bytes, REGISTER) or Linux's (7,432 bytes,
// REGISTER1 answered with the kernel's own), and the agent is started
// with the same --kvp.protocol. The same loop also times a bare echo
// peer, which sends each datagram straight back over a socket of the
// same type from a process of its own, as the agent's is: the floor, what
// the socket and the scheduler cost with no work done at all (see
// startEcho). Requests to the echo and to the agent alternate one by one
// (see round), so that both processes run under the same conditions.
//
// Beside the round trips it reports the CPU time each process spent per
// request (cpuTime, Linux's per-thread schedstat): the work the agent
// adds to a request, independent of how the scheduler placed it.
//
// With -ipinfo it measures GET_IP_INFO instead: the agent runs in a
// network namespace of its own holding one veth adapter with three
// addresses (measureIPInfo); without root it says so and exits 0.
//
// It reports; it does not judge. The exit status is 1 only when the
// agent could not be started or a request failed.
//
// main.go reads the flags, bench.go starts the agent and the echo floor
// and times the requests, ipinfo.go measures GET_IP_INFO in a network
// namespace, and report.go prints the table.
package main
