# Fedora's and RHEL's hyperv-daemons units.
taken_over="hypervkvpd.service hypervvssd.service"

# RPM-based systems have no deb-systemd-invoke; their own %systemd_*
# scriptlets call systemctl too.
invoke() {
	systemctl "$@"
}

