package agent

import "runtime/debug"

// Version is the agent's dotted numeric version. The host shows it as
// IntegrationServicesVersion; release builds may set it with
// -ldflags "-X github.com/hvagent/hvagent/agent.Version=1.2.3".
var Version = "0.1.0"

// Revision is the VCS revision the binary was built from, or "unknown".
func Revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
