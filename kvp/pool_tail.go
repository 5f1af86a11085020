package kvp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hvagent/hvagent/internal/fstrust"
)

// A pool file that is not a whole number of records ends in a partial
// record, its torn tail: a write of another program that did not finish,
// or bytes that never were a pool. Readers leave it out (ReadPool says
// where the whole records end). An update that drops it (an append, which
// first truncates the file to its whole records, or a delete, which
// truncates it to one record fewer) first copies it beside the pool file
// as <pool file>.tail.<UTC time>, on stable storage, and logs where: the
// bytes may be the start of a record someone meant to keep. A replace
// leaves the tail where it is.

// keepTail copies the bytes of the pool file after offset end, where its
// whole records end, aside before an update drops them. It runs under
// the file locks, before the update's journal is written.
func (p *Pool) keepTail(end int64) error {
	if p.sim {
		return nil // a replay in memory drops nothing on disk
	}
	fi, err := p.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size <= end {
		return nil
	}
	tail := make([]byte, size-end)
	if _, err := p.f.ReadAt(tail, end); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the partial record at the end of %s: %w", p.path, err)
	}
	aside := p.path + ".tail." + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := writeAside(aside, tail); err != nil {
		return fmt.Errorf("keep the partial record at the end of %s: %w", p.path, err)
	}
	if err := syncDir(p.dir); err != nil {
		return fmt.Errorf("keep the partial record at the end of %s: %w", p.path, err)
	}
	log := p.log
	if log == nil {
		log = slog.Default()
	}
	log.Warn("pool file ends in a partial record: kept a copy before the update drops it",
		"pool", PoolName(p.n), "file", p.path, "size", size, "records_end", end, "copy", aside)
	return nil
}

// writeAside creates path (never through a symbolic link, never over an
// existing file) holding b, on stable storage.
func writeAside(path string, b []byte) error {
	f, err := fstrust.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
