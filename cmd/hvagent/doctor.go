package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/hvagent/hvagent/doctor"
	"github.com/hvagent/hvagent/vf"
)

// runDoctor is 'hvagent doctor [--json] [run flags]'. It takes every
// flag of 'hvagent run', so the rc.conf hvagent_flags can be passed as
// they are, and checks what that daemon would use. Exit status 1 when a
// finding is a fail, 2 on a usage error.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	asJSON, rest, err := cutJSONFlag(args)
	if err != nil {
		return usageError(stderr, "doctor", err)
	}
	if wantsHelp(rest) {
		printDoctorHelp(stderr)
		return exitOK
	}
	f, err := parseDaemonFlags(rest, io.Discard)
	if err != nil {
		return usageError(stderr, "doctor", err)
	}
	env := doctor.SystemEnv(doctorSysctl(f.vf), vf.ExecRunner{}, runtime.GOOS)
	rep := doctor.Run(context.Background(), doctorConfig(f), env)
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return failure(stderr, "doctor", err)
	}
	if rep.Failed() {
		return exitError
	}
	return exitOK
}

// doctorConfig is what 'hvagent run' with the same flags would use.
func doctorConfig(f *daemonFlags) doctor.Config {
	return doctor.Config{
		KVPDevice:     f.kvpDevice,
		VSSDevice:     f.vss.device,
		PoolDir:       f.kvpPoolDir,
		HooksDir:      f.vss.hooksDir,
		Policy:        vssPolicy(&f.vss), // as the VSS subsystem's
		BaseRules:     f.vf.baseRules,
		OverrideDir:   f.vf.overrideDir,
		VFMode:        f.vf.mode,
		ListenAddress: f.listen,
		WebConfigFile: f.webConfig,
		Disabled:      f.disable,
		OS:            runtime.GOOS,
	}
}

// doctorSysctl reads sysctls as the vf subsystem would.
func doctorSysctl(f vfFlags) vf.Sysctl {
	if f.sysctlCmd {
		return vf.CommandSysctl{Runner: vf.ExecRunner{}}
	}
	return vf.DefaultSysctl(vf.ExecRunner{})
}

// cutJSONFlag removes --json (or -json, --json=BOOL) from args, which
// are otherwise the flags of 'hvagent run'.
func cutJSONFlag(args []string) (bool, []string, error) {
	var asJSON bool
	var rest []string
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			rest = append(rest, a)
			continue
		}
		switch {
		case !hasVal || val == "true":
			asJSON = true
		case val == "false":
			asJSON = false
		default:
			return false, nil, fmt.Errorf("invalid value %q for flag --json", val)
		}
	}
	return asJSON, rest, nil
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// printDoctorHelp prints the usage line and the flags, which are those
// of 'hvagent run'.
func printDoctorHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: hvagent doctor [--json] [flags of hvagent run]")
	fmt.Fprintln(w, "  -json\n    \tprint the findings as JSON")
	var b bytes.Buffer
	if _, err := parseDaemonFlags([]string{"--help"}, &b); errors.Is(err, flag.ErrHelp) {
		_, help, _ := strings.Cut(b.String(), "\n") // drop run's usage line
		fmt.Fprint(w, help)
	}
}
