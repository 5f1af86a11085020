package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"strings"
	"sync"
)

// ParseLevel accepts debug, info, warn and error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}

// NewLogger logs key=value lines to w, or to syslog (facility daemon, tag
// hvagent) when useSyslog is set.
func NewLogger(w io.Writer, level slog.Level, useSyslog bool) (*slog.Logger, error) {
	if !useSyslog {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
	}
	sw, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "hvagent")
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	return slog.New(newSyslogHandler(sw, level)), nil
}

// syslogHandler formats records as key=value text (without time: syslog
// stamps them) and sends each at the syslog severity of its level.
type syslogHandler struct {
	slog.Handler
	w   *syslog.Writer
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func newSyslogHandler(w *syslog.Writer, level slog.Level) *syslogHandler {
	buf := new(bytes.Buffer)
	h := slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return &syslogHandler{Handler: h, w: w, buf: buf, mu: new(sync.Mutex)}
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.Handler.Handle(ctx, r); err != nil {
		return err
	}
	msg := strings.TrimSuffix(h.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return h.w.Err(msg)
	case r.Level >= slog.LevelWarn:
		return h.w.Warning(msg)
	case r.Level >= slog.LevelInfo:
		return h.w.Info(msg)
	}
	return h.w.Debug(msg)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syslogHandler{Handler: h.Handler.WithAttrs(as), w: h.w, buf: h.buf, mu: h.mu}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{Handler: h.Handler.WithGroup(name), w: h.w, buf: h.buf, mu: h.mu}
}
