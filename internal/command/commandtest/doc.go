// Package commandtest is a command.Runner for unit tests: it records
// the commands it is given and answers them from a script, without
// starting anything.
//
// It models no command's behaviour; package fbsdnettest does that for
// the network commands.
package commandtest
