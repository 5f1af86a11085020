# Debian's and Ubuntu's hyperv-daemons units (60-hyperv-daemons.rules
# starts them).
taken_over="hv-kvp-daemon.service hv-vss-daemon.service"

# deb-systemd-invoke (init-system-helpers, essential) starts and stops
# units as Debian's packages do, honouring policy-rc.d, which image
# builders use to keep services from starting in a chroot.
invoke() {
	deb-systemd-invoke "$@"
}

