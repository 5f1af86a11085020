package vss

import "log/slog"

// Optional log attributes: an attribute with nothing to say is left out
// of the line (slog's handlers elide the zero Attr) rather than written
// as err=<nil> or zfs_synced=[].

// errAttr is err as the "err" attribute, none when err is nil.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.Any("err", err)
}

// listAttr is l as the attribute key, none when l is empty.
func listAttr(key string, l []string) slog.Attr {
	if len(l) == 0 {
		return slog.Attr{}
	}
	return slog.Any(key, l)
}
