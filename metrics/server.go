package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// ServerConfig says where and how to serve metrics.
type ServerConfig struct {
	ListenAddress string // e.g. ":9855"; empty disables the server
	WebConfigFile string // exporter-toolkit TLS / basic-auth file; empty for plain HTTP
	Version       string
}

// Handler returns the HTTP handler: /metrics and a landing page at /.
func (m *Metrics) Handler(version string, log *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
		EnableOpenMetrics: true,
	}))
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "hvagent",
		Description: "Hyper-V / Azure guest agent for FreeBSD",
		Version:     version,
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: landing page: %w", err)
	}
	mux.Handle("/", landing)
	return mux, nil
}

// Serve serves metrics until ctx ends. It returns nil when the server was
// disabled or stopped by ctx, and the listen error otherwise.
func (m *Metrics) Serve(ctx context.Context, cfg ServerConfig, log *slog.Logger) error {
	if cfg.ListenAddress == "" {
		log.Info("metrics server disabled")
		return nil
	}
	h, err := m.Handler(cfg.Version, log)
	if err != nil {
		return err
	}
	// ErrorLog: TLS handshake and accept errors go through the agent's
	// logger (and its VSS log hold), not straight to stderr.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	addrs := []string{cfg.ListenAddress}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &cfg.WebConfigFile}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, flags, log) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve on %s: %w", cfg.ListenAddress, err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics: shutdown: %w", err)
		}
		return nil
	}
}
