// Package fbsdnet is what FreeBSD's rc.conf(5) and interface names say
// about the network: the plain assignments of an rc.conf file, the
// ifconfig_<if> keywords network.subr interprets (DHCP, SYNCDHCP,
// NOSYNCDHCP, the arguments it passes to ifconfig), and the naming
// rules that tie hnN, its VF and the laggN built over them together.
// Package vf and package netinfo both read the system through it, so
// they agree on every rule. Nothing here runs a command or touches a
// file; callers hand in bytes or a lookup.
package fbsdnet
