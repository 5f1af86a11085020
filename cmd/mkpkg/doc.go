// Command mkpkg builds the FreeBSD package of hvagent from any system with
// Go: <abi>/hvagent-<version>.pkg, a file "pkg add" installs, in a
// directory of its own for each pkg ABI, which "pkg repo" turns into a
// repository for that ABI.
//
//	mkpkg -bin dist/freebsd-amd64/hvagent -arch amd64 -version 0.1.0 -o dist
//	    (writes dist/FreeBSD:14:amd64/hvagent-0.1.0.pkg)
//	mkpkg -verify dist/FreeBSD:14:amd64/hvagent-0.1.0.pkg
//
// What goes into the package comes from the port skeleton in
// packaging/freebsd/sysutils/hvagent: metadata from its Makefile and
// pkg-descr, the message from pkg-message, the files from pkg-plist plus
// the rc.d script of USE_RC_SUBR. "make package" runs it for amd64 and
// arm64.
//
// With -linux it builds the Linux packages instead, with nfpm as a
// library: hvagent_<version>-1_<arch>.deb and
// hvagent-<version>-1.<rpmarch>.rpm, from packaging/linux (the unit,
// /etc/default/hvagent, the copyright file, changelog.yml, the maintainer
// scripts in scripts/, the .rpm's systemd preset) and the man page and
// examples of the tree:
//
//	mkpkg -linux -bin dist/linux-amd64/hvagent -arch amd64 -version 0.1.0 -o dist
//
// The pkg(8) archive format itself (manifests, plist, compression) is
// package pkgbuild's; this command only gathers what goes in.
package main
