package kvp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hvagent/hvagent/internal/fstrust"
)

// Snapshot is what ReadPool saw of one pool.
type Snapshot struct {
	Records []Record
	// Pending is set when a journal holds an update a crash interrupted:
	// Records show the pool as the next writer (the agent, or any
	// 'hvagent kvp set' or 'delete' on the pool) will leave it once it
	// has finished that update.
	Pending bool
	// Invalid, when not nil, says why the journal found is not one: the
	// next writer sets it aside unreplayed, and Records ignore it.
	Invalid error
	// Journal is the journal's path, for messages.
	Journal string
	// Path is the pool file's path; Size its size in bytes when read
	// (0 if there is none), and End the offset where its whole records
	// end. End < Size when the file ends in a partial record, which
	// Records leave out (see pool_tail.go). Both describe the file on disk,
	// before any pending journal.
	Path      string
	Size, End int64
}

// ReadPool reads pool n of dir and changes nothing: it creates no file,
// changes no mode and replays no journal on disk (a pending update is
// replayed on a copy in memory, see Snapshot). The directory must pass
// the same trust check as for OpenPool, and no symbolic link is followed.
// A missing pool file is an empty pool; a missing directory an error.
func ReadPool(dir string, n int) (Snapshot, error) {
	if n < 0 || n >= NumPools {
		return Snapshot{}, fmt.Errorf("kvp: pool %d out of range 0-%d", n, NumPools-1)
	}
	if err := checkPoolDir(dir); errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, fmt.Errorf("%w (the agent creates it when it starts)", err)
	} else if err != nil {
		return Snapshot{}, err
	}
	name := ".kvp_pool_" + strconv.Itoa(n)
	path := filepath.Join(dir, name)
	s := Snapshot{Journal: path + ".journal", Path: path}
	for attempt := 0; ; attempt++ {
		f, err := fstrust.OpenFile(path, os.O_RDONLY, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return s, nil
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("kvp: open pool file: %w", err)
		}
		done, err := s.read(f, path, n)
		f.Close()
		if err != nil {
			return Snapshot{}, fmt.Errorf("kvp: read pool %d: %w", n, err)
		}
		if done {
			return s, nil
		}
		if attempt == maxReopen {
			return Snapshot{}, fmt.Errorf("kvp: read pool %d: %s keeps being replaced", n, path)
		}
	}
}

// read fills s from f under shared locks; done is false if the path no
// longer names f's file (replaced by rename) and must be opened again.
func (s *Snapshot) read(f *os.File, path string, n int) (done bool, err error) {
	fd := int(f.Fd())
	held, err := lockFile(fd, true)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	defer unlockFile(fd, held)
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if cur, err := os.Lstat(path); err != nil || !os.SameFile(fi, cur) {
		return false, nil
	}
	s.Size, s.End = fi.Size(), fi.Size()/recordSize*recordSize
	j, invalid, err := readJournal(s.Journal, n)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, err
	case invalid != nil:
		s.Invalid = invalid
	default:
		s.Pending = true
		s.Records, err = simulateJournal(f, path, fi.Size(), n, j)
		return err == nil, err
	}
	s.Records, err = readRecords(f, path, fi.Size())
	return err == nil, err
}

// simulateJournal replays j on a copy of the pool file in memory, with the
// code that replays it on disk, and returns the records that leaves.
func simulateJournal(f io.ReaderAt, path string, size int64, n int, j *journal) ([]Record, error) {
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	mem := &memFile{b: b}
	sim := &Pool{n: n, path: path, f: mem, sim: true}
	if err := sim.redo(j, size); err != nil {
		return nil, fmt.Errorf("replay journal in memory: %w", err)
	}
	return readRecords(mem, path, int64(len(mem.b)))
}

// memFile is a pool file in memory, for simulateJournal.
type memFile struct{ b []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.Truncate(end)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) Truncate(size int64) error {
	if size <= int64(len(m.b)) {
		m.b = m.b[:size]
		return nil
	}
	m.b = append(m.b, make([]byte, size-int64(len(m.b)))...)
	return nil
}

func (m *memFile) Sync() error  { return nil }
func (m *memFile) Close() error { return nil }

func (m *memFile) Stat() (os.FileInfo, error) { return memInfo(len(m.b)), nil }

// memInfo is a memFile's size, as a FileInfo.
type memInfo int64

func (s memInfo) Name() string       { return "" }
func (s memInfo) Size() int64        { return int64(s) }
func (s memInfo) Mode() fs.FileMode  { return 0o600 }
func (s memInfo) ModTime() time.Time { return time.Time{} }
func (s memInfo) IsDir() bool        { return false }
func (s memInfo) Sys() any           { return nil }
