// Package metrics holds hvagent's Prometheus instruments and serves them.
//
// Every family lives in one private registry (never the global default),
// so a scrape shows exactly what the agent exports. The agent-wide
// families are created here: build info, each subsystem's up gauge and
// restarts, the Go runtime and the process. Each subsystem's own
// families are created and registered by its package (kvp.NewMetrics,
// netinfo.NewMetrics, vss.NewMetrics, vf.NewMetrics).
//
// It serves them too (server.go, with exporter-toolkit's TLS and basic
// auth, and a cap on connections); package agent runs that server as a
// supervised task.
package metrics
