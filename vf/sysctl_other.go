//go:build !freebsd

package vf

// DefaultSysctl is how the daemon reads sysctls on this system: without
// sysctl(3), through the sysctl command on PATH (a fake one in tests).
func DefaultSysctl(r Runner) Sysctl { return CommandSysctl{Runner: r} }
