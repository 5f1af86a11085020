package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
)

// Defaults for ServerConfig's limits. A scrape endpoint serves a handful of
// Prometheus servers and now and then a person: nothing it does needs many
// connections or long ones, and every connection it holds is a descriptor
// the KVP and VSS subsystems may need to answer the host.
const (
	// DefaultMaxConnections: two HA pairs of Prometheus servers, each
	// briefly holding a second connection while an old one lingers (8),
	// plus a person's browser, which opens up to 6 connections to a host.
	DefaultMaxConnections = 16
	// DefaultReadTimeout bounds the TLS handshake and the request, headers
	// and body: a scraper sends a few hundred bytes at once.
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout is longer than the common scrape intervals (15 s,
	// 30 s), so Prometheus keeps reusing its connection, and short enough
	// that an abandoned one frees its slot within a minute.
	DefaultIdleTimeout = 60 * time.Second
	// writeTimeout bounds writing a response; a scrape is written in
	// milliseconds, so only a client that stops reading meets it.
	writeTimeout = 30 * time.Second
)

// ServerConfig says where and how to serve metrics.
type ServerConfig struct {
	ListenAddress string // e.g. ":9855"; empty disables the server
	WebConfigFile string // exporter-toolkit TLS / basic-auth file; empty for plain HTTP
	Version       string
	// MaxConnections caps the connections served at once; more wait in
	// the kernel's listen queue. The cap is lowered further to keep
	// fdReserve descriptors free. Zero: DefaultMaxConnections.
	MaxConnections int
	// ReadTimeout bounds the TLS handshake and reading a request; zero:
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new
	// request; zero: DefaultIdleTimeout.
	IdleTimeout time.Duration
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
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

// ErrBadAddress reports a listen address that no retry can bind: it is
// malformed or its port is out of range (a *net.AddrError).
var ErrBadAddress = errors.New("metrics: address cannot be listened on")

// Listen binds cfg.ListenAddress. An address that can never be bound
// returns an error wrapping ErrBadAddress; other failures (the port in
// use, the address not configured yet) may pass with time.
func Listen(cfg ServerConfig) (net.Listener, error) {
	l, err := net.Listen("tcp", cfg.ListenAddress)
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return nil, fmt.Errorf("%w: %w", ErrBadAddress, err)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return l, nil
}

// Serve serves metrics on l until ctx ends, and closes l. It returns nil
// when ctx stopped it, and the server's error otherwise.
func (m *Metrics) Serve(ctx context.Context, l net.Listener, cfg ServerConfig, log *slog.Logger) error {
	defer l.Close()
	cfg = cfg.withDefaults()
	h, err := m.Handler(cfg.Version, log)
	if err != nil {
		return err
	}
	limit := connectionLimit(cfg.MaxConnections, log)
	// Every phase of a connection is bounded: net/http applies the read
	// timeouts to the TLS handshake too. ErrorLog: TLS handshake and
	// accept errors go through the agent's logger (and its VSS log hold),
	// not straight to stderr.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The cap holds below the exporter toolkit's TLS and basic auth: a
	// slot is taken at accept and freed when the server closes the
	// connection, answered 401 or not.
	l = netutil.LimitListener(l, limit)
	flags := &web.FlagConfig{WebConfigFile: &cfg.WebConfigFile}
	errc := make(chan error, 1)
	go func() { errc <- web.Serve(l, srv, flags, log) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve on %s: %w", l.Addr(), err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics: shutdown: %w", err)
		}
		return nil
	}
}
