#!/bin/sh
# A maintainer script of the hvagent package (hvagent(8), LINUX). cmd/mkpkg
# makes each one from packaging/linux/scripts/lib.sh, these functions,
# then its format's common.sh (scripts/deb/common.sh, scripts/rpm/common.sh),
# which sets taken_over and defines invoke, then the script of its format
# and action (scripts/deb/postinst, scripts/rpm/post, ...), which calls them.
#
# Installing enables hvagent.service and masks the distribution's KVP and
# VSS daemons, named in taken_over: udev starts those from the device
# nodes whether or not they are enabled, so "disable" would not keep them
# off the devices. Enabling and masking are symlinks in /etc/systemd/system
# that these scripts make and remove themselves, as deb-systemd-helper
# does, so that they work without systemctl and without a running systemd:
# dpkg --root (DPKG_ROOT), a chroot, an image build. Only on the running
# system, booted with systemd, do they reload systemd and start or stop
# units, and they start the agent only on Hyper-V or Azure (the unit has
# ConditionVirtualization=microsoft as well). Nothing here fails the
# install: a unit that will not start or stop is systemd's to report.
set -e

unit=hvagent.service
unit_path=/usr/lib/systemd/system/$unit
# DPKG_ROOT: the root dpkg installs into, empty for this system.
etc_units="${DPKG_ROOT:-}/etc/systemd/system"
wants="$etc_units/multi-user.target.wants"

# live: this is the running system, and systemd manages it.
live() {
	[ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# hyperv: this is a Hyper-V or Azure guest.
hyperv() {
	[ "$(systemd-detect-virt --vm 2>/dev/null || true)" = microsoft ]
}

# take_over enables the agent and masks the daemons in taken_over, as
# "systemctl enable" and "systemctl mask" would. A unit file the
# administrator put in /etc/systemd/system under one of those names is
# left alone.
take_over() {
	mkdir -p "$wants"
	ln -sfn "$unit_path" "$wants/$unit"
	for u in $taken_over; do
		if [ ! -e "$etc_units/$u" ] && [ ! -L "$etc_units/$u" ]; then
			ln -s /dev/null "$etc_units/$u"
		fi
	done
}

# give_back disables the agent and unmasks the daemons: it removes the
# symlinks take_over makes, and only those.
give_back() {
	if [ "$(readlink "$wants/$unit" 2>/dev/null || true)" = "$unit_path" ]; then
		rm -f "$wants/$unit"
	fi
	rmdir "$wants" 2>/dev/null || true
	for u in $taken_over; do
		if [ "$(readlink "$etc_units/$u" 2>/dev/null || true)" = /dev/null ]; then
			rm -f "$etc_units/$u"
		fi
	done
}

# start_agent reloads systemd and, on Hyper-V with the agent enabled,
# stops the masked daemons and (re)starts the agent.
start_agent() {
	live || return 0
	systemctl daemon-reload || true
	if hyperv && [ -L "$wants/$unit" ]; then
		for u in $taken_over; do
			if [ "$(readlink "$etc_units/$u" 2>/dev/null || true)" = /dev/null ]; then
				invoke stop "$u" || true
			fi
		done
		invoke restart "$unit" || true
	fi
}

# stop_agent stops the agent before its files go.
stop_agent() {
	live || return 0
	invoke stop "$unit" || true
}

# restart_daemons reloads systemd and, on Hyper-V, has the unmasked
# daemons started again (start_daemons, of the format's common.sh).
restart_daemons() {
	live || return 0
	systemctl daemon-reload || true
	if hyperv; then start_daemons; fi
}

