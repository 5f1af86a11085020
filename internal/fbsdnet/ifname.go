package fbsdnet

import (
	"slices"
	"strconv"
	"strings"
)

// NameMax is IFNAMSIZ minus the NUL (sys/net/if.h, IFNAMSIZ 16).
const NameMax = 15

// Split splits an interface name into its driver and unit number
// ("hn12" -> "hn", "12"); ok is false if name does not end in a unit
// number or has nothing before it.
func Split(name string) (driver, unit string, ok bool) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == 0 || i == len(name) {
		return "", "", false
	}
	return name[:i], name[i:], true
}

// Unit returns the unit number of an interface name ("hn3" -> 3).
func Unit(name string) (int, bool) {
	_, unit, ok := Split(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(unit)
	return n, err == nil
}

// ValidName reports whether s looks like a FreeBSD interface name the
// agent may use as an argument and a label: a driver name of lower-case
// letters followed by a unit number without leading zeros, at most
// NameMax bytes (hn0, mce1, mlxen0, mana0, lagg0).
func ValidName(s string) bool {
	if len(s) < 2 || len(s) > NameMax {
		return false
	}
	drv, unit, ok := Split(s)
	if !ok || strings.Trim(drv, "abcdefghijklmnopqrstuvwxyz") != "" {
		return false
	}
	return len(unit) == 1 || unit[0] != '0'
}

// IsHN reports whether name is a synthetic hn(4) interface: "hn" and a
// unit number, nothing else, since its sysctls (dev.hn.N.*) are found
// by that unit.
func IsHN(name string) bool {
	drv, _, ok := Split(name)
	return ok && drv == "hn" && ValidName(name)
}

// Lagg names the failover lagg(4) hyperv_vfup builds over hnN and its VF
// in non-transparent mode: laggN, the same unit
// (contrib/hyperv/tools/scripts/hyperv_vfup: lagg=lagg$hn_unit).
func Lagg(hn string) (string, bool) {
	drv, unit, ok := Split(hn)
	if !ok || drv != "hn" {
		return "", false
	}
	return "lagg" + unit, true
}

// HNOfLagg is the hnN whose configuration hyperv_vfup moved to laggN.
func HNOfLagg(lagg string) (string, bool) {
	drv, unit, ok := Split(lagg)
	if !ok || drv != "lagg" {
		return "", false
	}
	return "hn" + unit, true
}

// vfDrivers name the SR-IOV virtual functions Azure pairs with hnN:
// mlx5en (mceN), mlx4en (mlxenN) and MANA (manaN). They share hnN's MAC
// but never carry its addresses.
var vfDrivers = []string{"mce", "mlxen", "mana"}

// IsVFDriver reports whether name is an interface of a VF driver.
func IsVFDriver(name string) bool {
	drv, _, ok := Split(name)
	return ok && slices.Contains(vfDrivers, drv)
}
