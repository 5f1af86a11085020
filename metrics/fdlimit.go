package metrics

import (
	"context"
	"log/slog"
)

// fdReserve is how many descriptors are kept from the metrics server, for
// the rest of the agent at its busiest:
//   - the runtime and standard streams: stdin, stdout, stderr, the
//     poller's epoll/kqueue and its wake-up pipe or eventfd, the syslog
//     socket (6);
//   - KVP: the device or socket, the five pool files, the journal, a
//     temporary file, the rc.conf/resolv.conf being read or written, the
//     SET_IP_INFO hook's three pipes, route/netlink sockets for the
//     addresses and a DNS lookup's sockets (16);
//   - VSS: the device, the mount table, the freezer's control and status
//     pipes, a hook's three pipes (8);
//   - VF: the devd socket and a sysctl/ifconfig command's three pipes (4);
//   - the metrics listener itself (1);
//
// 35 in all, rounded up to 48 for what a later change adds unnoticed.
const fdReserve = 48

// connectionLimit returns the metrics server's connection cap: max, but no
// more than the soft RLIMIT_NOFILE leaves after fdReserve, and at least 1
// so a scrape can still get through.
//
// The soft limit is not raised here: the Go runtime already raises it to
// the hard limit at start on every Unix system (syscall/rlimit.go, since
// Go 1.19), so what Getrlimit reports is what the process may use.
func connectionLimit(max int, log *slog.Logger) int {
	soft, hard, err := fileLimit()
	if err != nil {
		log.Debug("descriptor limit unknown; metrics connections capped by the flag alone", "err", err, "max_connections", max)
		return max
	}
	limit := capConnections(max, soft)
	level := slog.LevelDebug
	if limit < max {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "descriptor limit", "soft", soft, "hard", hard, "reserved", fdReserve,
		"max_connections", max, "metrics_connections", limit)
	return limit
}

// capConnections is connectionLimit's arithmetic.
func capConnections(max int, soft uint64) int {
	if soft <= fdReserve {
		return 1
	}
	if room := soft - fdReserve; room < uint64(max) {
		return int(room)
	}
	return max
}
