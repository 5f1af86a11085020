// Package linuxunit holds no Go code to import: its directory holds
// hvagent's systemd unit (hvagent.service) and the file it reads flags
// from (hvagent.default, installed as /etc/default/hvagent), and its
// tests check them. unitfile_test.go reads a unit file and models the
// few systemd rules the checks need; unit_test.go checks that the unit
// keeps what the agent's work needs and that the takeover from
// hyperv-daemons is documented where an administrator looks;
// verify_test.go runs systemd-analyze verify on the unit as shipped and
// the agent's own flag parser on the default file.
//
// The .deb and .rpm packages (cmd/mkpkg -linux) also take from here
// the copyright file, the changelog (changelog.yml), the description,
// the lintian overrides, the .rpm's systemd preset (50-hvagent.preset)
// and the maintainer scripts (scripts/); their
// tests are cmd/mkpkg's.
package linuxunit
