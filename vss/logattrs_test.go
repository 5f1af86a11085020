package vss

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// The freeze and thaw lines leave out what they have nothing to say
// about: no err=<nil>, no zfs_synced=[].
func TestOptionalLogAttrs(t *testing.T) {
	for _, tt := range []struct {
		name       string
		attrs      []any
		want, lack []string
	}{
		{"empty", []any{listAttr("zfs_synced", nil), errAttr(nil), "freezer_pid", 7},
			[]string{"msg=m freezer_pid=7\n"}, []string{"zfs_synced", "err", "<nil>", "[]"}},
		{"set", []any{listAttr("zfs_synced", []string{"zroot"}), errAttr(errors.New("boom"))},
			[]string{"zfs_synced=[zroot]", "err=boom"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
						return slog.Attr{}
					}
					return a
				},
			}))
			log.Info("m", tt.attrs...)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("line %q lacks %q", b.String(), w)
				}
			}
			for _, l := range tt.lack {
				if strings.Contains(b.String(), l) {
					t.Errorf("line %q has %q", b.String(), l)
				}
			}
		})
	}
}
