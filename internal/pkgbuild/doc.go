// Package pkgbuild writes and checks FreeBSD pkg(8) packages from any
// system: a tar archive, compressed with xz, whose first entries are
// +COMPACT_MANIFEST and +MANIFEST, followed by the files under their
// install paths, owned by root:wheel (libpkg's packing.c).
//
// What goes into hvagent's own package is cmd/mkpkg's choice, read
// from the port skeleton in packaging/freebsd.
package pkgbuild
