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
# does (and, as it does in /var/lib/systemd/deb-systemd-helper-masked,
# they record each mask they make in /var/lib/hvagent/masked, so that
# removal unmasks those and not the administrator's own), so that they
# work without systemctl and without a running systemd:
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
# masked: a file for each daemon take_over masked, named after its unit.
masked="${DPKG_ROOT:-}/var/lib/hvagent/masked"
# unmasked: the daemons give_back unmasked, for restart_daemons.
unmasked=""

# live: this is the running system, and systemd manages it.
live() {
	[ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# hyperv: this is a Hyper-V or Azure guest, and not a container on one,
# as the unit's ConditionVirtualization=microsoft sees it: systemd checks
# for a container first (systemd's src/basic/virt.c, detect_virtualization),
# and so does plain systemd-detect-virt; --vm would answer microsoft in a
# container or WSL2 on Hyper-V, where the unit does not start.
hyperv() {
	[ "$(systemd-detect-virt 2>/dev/null || true)" = microsoft ]
}

# take_over enables the agent and masks the daemons in taken_over, as
# "systemctl enable" and "systemctl mask" would, and records each mask it
# makes. A unit file or a mask the administrator put in
# /etc/systemd/system under one of those names is left alone.
take_over() {
	mkdir -p "$wants"
	ln -sfn "$unit_path" "$wants/$unit"
	for u in $taken_over; do
		if [ ! -e "$etc_units/$u" ] && [ ! -L "$etc_units/$u" ]; then
			mkdir -p "$masked"
			: >"$masked/$u"
			ln -s /dev/null "$etc_units/$u"
		fi
	done
}

# give_back disables the agent and unmasks the daemons take_over masked:
# it removes the symlinks take_over makes, and only those, and the
# records. The enable link may be one "systemctl enable" made, to
# /lib/systemd/system on a system without the merged /usr (Debian
# bookworm's systemctl names that path).
give_back() {
	case "$(readlink "$wants/$unit" 2>/dev/null || true)" in
	*/systemd/system/"$unit") rm -f "$wants/$unit" ;;
	esac
	rmdir "$wants" 2>/dev/null || true
	for u in $taken_over; do
		[ -e "$masked/$u" ] || continue
		if [ "$(readlink "$etc_units/$u" 2>/dev/null || true)" = /dev/null ]; then
			rm -f "$etc_units/$u"
			unmasked="$unmasked $u"
		fi
		rm -f "$masked/$u"
	done
	rmdir "$masked" 2>/dev/null || true
	rmdir "${masked%/*}" 2>/dev/null || true
}

# start_agent reloads systemd and, on Hyper-V with the agent enabled,
# stops the masked daemons and (re)starts the agent: on an upgrade too
# (deb's configure, RPM's %post), so that the new binary runs; an agent
# the administrator disabled stays stopped.
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

# restart_daemons reloads systemd and, on Hyper-V, has udev start the
# daemons again as it does at boot: udev's rules start them for the
# device nodes (SYSTEMD_WANTS on vmbus/hv_kvp and vmbus/hv_vss
# in Debian's 60-hyperv-daemons.rules, Fedora's 70-hypervkvp.rules and
# 70-hypervvss.rules). For a device already plugged, systemd starts on
# each uevent the units SYSTEMD_WANTS lists that are not active
# (src/core/device.c, device_add_udev_wants; older versions started
# only names new to the list, hence "systemctl status" in the message).
# One trigger per node present: udevadm fails on a name that has no
# device.
restart_daemons() {
	live || return 0
	systemctl daemon-reload || true
	hyperv || return 0
	trigger=""
	if command -v udevadm >/dev/null 2>&1; then
		for dev in hv_kvp hv_vss; do
			if [ -e "/dev/vmbus/$dev" ]; then
				udevadm trigger --action=add --name-match="vmbus/$dev" || true
				trigger=yes
			fi
		done
	fi
	for u in $unmasked; do
		unit_exists "$u" || continue
		if [ -n "$trigger" ]; then
			echo "hvagent: unmasked $u; udev starts it for its device (systemctl status $u)" >&2
		else
			echo "hvagent: unmasked $u; udev starts it at the next boot, or now: systemctl start $u" >&2
		fi
	done
}

# unit_exists: a unit file of that name is installed (hyperv-daemons is
# not always).
unit_exists() {
	for d in /etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
		if [ -e "$d/$1" ]; then return 0; fi
	done
	return 1
}

