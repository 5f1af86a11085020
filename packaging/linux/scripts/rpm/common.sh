# Fedora's and RHEL's hyperv-daemons units.
taken_over="hypervkvpd.service hypervvssd.service"

# RPM-based systems have no deb-systemd-invoke; their own %systemd_*
# scriptlets call systemctl too.
invoke() {
	systemctl "$@"
}

# start_daemons starts the unmasked daemons, as udev would at the next
# boot (one not installed fails to start, quietly).
start_daemons() {
	for u in $taken_over; do
		invoke start "$u" 2>/dev/null || true
	done
}

