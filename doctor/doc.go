// Package doctor checks what an hvagent installation depends on and says
// what holds: the hypervisor, the device nodes and who holds them, the
// base system's devd rules, the pool and hooks directories, what a VSS
// FREEZE would do now, the hn(4) interfaces and their VFs, and the
// running agent's own view from its metrics endpoint.
//
// Every check reads; none changes the system. In particular no device is
// opened (opening /dev/hv_kvp_dev or /dev/hv_fsvss_dev registers the
// opener as the daemon) and nothing is frozen. The checks run over an
// injected Env, so the tests feed them fakes.
//
// The rules it applies belong to the packages that enforce them: the
// base devd rules are read with package vf's BaseRulesActive, the freeze
// plan is package vss's, and the trusted-directory rule is the one
// package fstrust enforces, applied here through the Env.
package doctor
