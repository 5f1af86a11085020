package netinfo

import (
	"os"
	"path/filepath"
	"strings"
)

// resolvconfRecords reads resolvconf(8)'s records of the interfaces
// names from db/interfaces. inUse is false when that directory does not
// exist: resolvconf has never run, and resolv.conf is the admin's.
func resolvconfRecords(db string, names ...string) (inUse bool, records map[string][]byte) {
	dir := filepath.Join(db, "interfaces")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return !os.IsNotExist(err), nil
	}
	records = map[string][]byte{}
	for _, e := range ents {
		for _, ifname := range names {
			if !isRecordOf(e.Name(), ifname) {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				records[e.Name()] = b
			}
		}
	}
	return true, records
}

// isRecordOf reports whether the resolvconf record called name belongs
// to ifname. openresolv names records <if>, <if>.<protocol> (dhcpcd:
// hn0.dhcp, hn0.ra) or <if>:<source> (rtsold: hn0:slaac:[fe80::1]);
// hn0.100 and hn0.100.dhcp are the VLAN interface hn0.100's own.
func isRecordOf(name, ifname string) bool {
	rest, ok := strings.CutPrefix(name, ifname)
	switch {
	case !ok:
		return false
	case rest == "" || rest[0] == ':':
		return true
	case rest[0] != '.':
		return false
	}
	proto := rest[1:]
	if i := strings.IndexAny(proto, ".:"); i >= 0 {
		proto = proto[:i]
	}
	return proto != "" && strings.Trim(proto, "0123456789") != ""
}
