// Package gotool finds the go command, for the tests and tools that
// build hvagent or its fake commands while they run. It does not build
// anything itself.
package gotool
