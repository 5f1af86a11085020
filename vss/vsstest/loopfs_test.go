package vsstest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The safety net of every real-freeze test: ThawFS thaws a frozen
// filesystem, so a write that blocked completes.
func TestThawFSThaws(t *testing.T) {
	mnt := LoopFS(t)
	fd, err := unix.Open(mnt, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetInt(fd, 0xC0045877, 0); err != nil { // FIFREEZE
		t.Fatalf("FIFREEZE: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644) }()
	select {
	case err := <-done:
		ThawFS(mnt)
		t.Fatalf("write finished on a frozen filesystem (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	ThawFS(mnt)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still frozen after ThawFS")
	}
	ThawFS(mnt) // not frozen: harmless
}
