# Debian's and Ubuntu's hyperv-daemons units (60-hyperv-daemons.rules
# starts them).
taken_over="hv-kvp-daemon.service hv-vss-daemon.service"

# deb-systemd-invoke (init-system-helpers, essential) starts and stops
# units as Debian's packages do, honouring policy-rc.d, which image
# builders use to keep services from starting in a chroot.
invoke() {
	deb-systemd-invoke "$@"
}

# start_daemons: udev starts Debian's daemons (they are static units, which
# deb-systemd-invoke does not start); say how to start them now.
start_daemons() {
	echo "hvagent: $taken_over are unmasked; udev starts them at the next boot, or now: systemctl start $taken_over" >&2
}

