package kvp

import "unicode/utf8"

// What a Linux kernel can pass on. Linux's kvp_respond_to_host
// (drivers/hv/hv_kvp.c) converts the reply's key and value with
// utf8s_to_utf16s, which fails on invalid UTF-8, and then answers the
// host HV_E_FAIL; any error status ends the host's walk of a pool
// ("terminate the current host-side iteration"). So one record that is
// not valid UTF-8, or whose key or value fills its whole field without a
// NUL (what a foreign writer can leave: pools are read leniently), would
// hide every record after it from the host.
//
// On Linux such records are therefore left out: ENUMERATE counts only
// the records it can return (index i is the i-th servable record in file
// order), and a GET that finds one answers HV_E_FAIL for that key alone.
// The records stay in the file untouched, and 'hvagent kvp list' shows
// them. FreeBSD's answers are unchanged.

// servable reports whether rec may be returned to the kernel.
func (s *Service) servable(rec Record) bool {
	return s.proto != Linux || servableRecord(rec)
}

// servableRecord: both strings valid UTF-8 and short enough to keep a
// NUL inside their fields.
func servableRecord(rec Record) bool {
	return len(rec.Key) < MaxKeySize && len(rec.Value) < MaxValueSize &&
		utf8.ValidString(rec.Key) && utf8.ValidString(rec.Value)
}

// at is the record ENUMERATE's index names in pool p.
func (s *Service) at(p *Pool, index uint32) (Record, bool, error) {
	i := int(min(index, 1<<30))
	if s.proto == Linux {
		return p.AtServable(i)
	}
	return p.At(i)
}

// unservable logs, once per pool at warning level, that a record was
// not returned.
func (s *Service) unservable(pool int) {
	s.malformed("unservable/"+PoolName(pool),
		"a pool record is not valid UTF-8 or fills its field: not returned to the host (ENUMERATE skips it, GET answers HV_E_FAIL)",
		"pool", PoolName(pool))
}
