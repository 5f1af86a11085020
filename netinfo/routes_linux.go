package netinfo

import (
	"os"
)

// SystemRoutes reads the default routes of this network namespace from
// procfs: IPv4 first, then IPv6.
func SystemRoutes() ([]Route, error) {
	f4, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, err
	}
	defer f4.Close()
	routes := parseProcRoute(f4)
	f6, err := os.Open("/proc/net/ipv6_route")
	if err != nil {
		return routes, nil // IPv6 disabled
	}
	defer f6.Close()
	return append(routes, parseProcIPv6Route(f6)...), nil
}
