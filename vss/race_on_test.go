//go:build race

package vss

const raceEnabled = true
