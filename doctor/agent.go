package doctor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeTimeout bounds the whole request to the agent's endpoint.
const scrapeTimeout = 3 * time.Second

// maxScrape bounds how much of a response is read.
const maxScrape = 8 << 20

// HTTPGet fetches url over plain HTTP, asking for the Prometheus text
// format. A status other than 200 is an error.
func HTTPGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxScrape))
}

// MetricsURL turns --web.listen-address into the URL of /metrics on
// this machine: an address without a host, or a wildcard host, is
// reached on the loopback address.
func MetricsURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--web.listen-address %q: %w", listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/metrics", nil
}

// checkAgent scrapes the running agent and reports its own view: the
// subsystems it runs, whether filesystems are frozen, and the datapath
// of each hn.
func checkAgent(ctx context.Context, r *Report, env Env, cfg Config) {
	f := Finding{ID: "metrics.listener", Subject: cfg.ListenAddress}
	if cfg.ListenAddress == "" {
		f.Status, f.Seen = Info, "the metrics server is off (--web.listen-address is empty): the agent's own view is not available"
		r.add(f)
		return
	}
	if cfg.WebConfigFile != "" {
		f.Status, f.Seen = Info, "the endpoint needs TLS or credentials ("+cfg.WebConfigFile+"): not scraped"
		r.add(f)
		return
	}
	url, err := MetricsURL(cfg.ListenAddress)
	if err != nil {
		f.Status, f.Seen, f.Remedy = Fail, err.Error(), "pass host:port, as ':9855'"
		r.add(f)
		return
	}
	body, err := env.Get(ctx, url)
	if err != nil {
		f.Status, f.Seen = Warn, fmt.Sprintf("no answer from %s (%v): hvagent is not running, or listens elsewhere", url, err)
		f.Remedy = startRemedy(cfg.OS) + "; or pass the --web.listen-address it runs with"
		r.add(f)
		return
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		f.Status, f.Seen = Warn, fmt.Sprintf("%s answered, but not in the Prometheus text format: %v", url, err)
		f.Remedy = "check what listens on " + cfg.ListenAddress
		r.add(f)
		return
	}
	build := fams["hvagent_build_info"]
	if build == nil || len(build.Metric) == 0 {
		f.Status, f.Seen = Warn, url+" answered, but it is not hvagent (no hvagent_build_info)"
		f.Remedy = "another program has " + cfg.ListenAddress + ": give hvagent another --web.listen-address"
		r.add(f)
		return
	}
	f.Status, f.Seen = OK, fmt.Sprintf("hvagent %s answers at %s", label(build.Metric[0], "version"), url)
	r.add(f)
	agentView(r, fams)
}

// agentView reports the families an administrator asks about first.
func agentView(r *Report, fams map[string]*dto.MetricFamily) {
	up := map[string]float64{}
	for _, m := range series(fams, "hvagent_subsystem_up") {
		up[label(m, "subsystem")] = value(m)
	}
	for _, sub := range []string{"kvp", "vss", "vf"} {
		f := Finding{ID: "agent.subsystem", Subject: sub}
		v, ok := up[sub]
		switch {
		case !ok:
			f.Status, f.Seen = Info, "not running in the agent: disabled, or its device is missing"
		case v == 1:
			f.Status, f.Seen = OK, "up"
		default:
			f.Status, f.Seen = Warn, "down: the agent is retrying"
			f.Remedy = "read the agent's log (syslog, tag hvagent) for why; the findings above often say"
		}
		r.add(f)
	}
	if s := series(fams, "hvagent_vss_frozen"); len(s) > 0 {
		f := Finding{ID: "agent.vss-frozen", Status: OK, Seen: "no filesystem frozen"}
		if value(s[0]) != 0 {
			f.Status, f.Seen = Warn, "filesystems are frozen now: a backup is in progress, or its THAW was lost"
			f.Remedy = "wait: the agent thaws by itself after --vss.max-frozen; writes to the frozen filesystems block until then"
		}
		r.add(f)
	}
	for _, m := range series(fams, "hvagent_vf_datapath_vf") {
		hn := label(m, "hn")
		seen := "the agent sees traffic on the VF"
		if value(m) == 0 {
			seen = "the agent sees traffic on " + hn + " (synthetic path)"
		}
		r.add(Finding{ID: "agent.vf-datapath", Subject: hn, Status: Info, Seen: seen})
	}
}

func series(fams map[string]*dto.MetricFamily, name string) []*dto.Metric {
	if f := fams[name]; f != nil {
		m := slices.Clone(f.Metric)
		slices.SortFunc(m, func(a, b *dto.Metric) int { return strings.Compare(a.String(), b.String()) })
		return m
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}
