// Package fstrust decides whether the agent may trust a directory it
// keeps state in or runs programs from, the way sshd's StrictModes does,
// and opens files in such a directory without following symbolic links.
//
// A directory is trusted when it and every directory above it is owned by
// root or by the running user and writable by nobody else. A parent that
// others may write is accepted only if it is root's and has the sticky bit
// (as /tmp is): others can add entries to it but cannot rename or replace
// the ones that are not theirs. The directory itself gets no such
// exception. Symbolic links on the way are followed, and what they point
// to is checked the same way; a link must itself belong to root or the
// running user.
//
// Which directories must be trusted is the callers' decision: kvp for
// the pool directory, vss for the hooks directory.
package fstrust
