package kvp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/hvagent/hvagent/internal/fstrust"
)

// recordSize is the size of one pool record: key[MaxKeySize] then
// value[MaxValueSize], each NUL-terminated and zero-filled. A pool file is
// a plain array of records with no header (struct kvp_record in FreeBSD's
// contrib/hyperv/tools/hv_kvp_daemon.c).
const recordSize = MaxKeySize + MaxValueSize

// Errors returned by Set, Get and Delete for arguments that cannot be
// stored. They are wrapped with context; test with errors.Is.
var (
	ErrTooLong  = errors.New("kvp: key or value too long for a pool record")
	ErrEmptyKey = errors.New("kvp: empty key")
	errPoolNUL  = errors.New("kvp: key or value contains a NUL byte")
	// ErrPoolFull refuses a new key in a pool that holds the most records
	// allowed; replacing a key's value still works.
	ErrPoolFull = errors.New("kvp: pool full")
)

// DefaultMaxRecords is the default cap on the records of one pool
// (--kvp.max-records). The host reads about 1024 per pool (hvagent(8),
// KVP POOLS);
// the cap is there to stop a pool from growing until the disk or the
// memory runs out, not to limit real use.
const DefaultMaxRecords = 10000

// MaxMaxRecords bounds --kvp.max-records: a pool of a million records is
// a 2.5 GB file, read into memory whole.
const MaxMaxRecords = 1000000

// Record is one key/value pair of a pool file.
type Record struct{ Key, Value string }

// maxReopen bounds how often one operation follows a pool file that
// another program keeps replacing by rename.
const maxReopen = 8

// Pool is one pool file, <dir>/.kvp_pool_<n>, kept in memory and reloaded
// only when the file changed. It is safe for concurrent use, and other
// processes (the CLI, cloud-init, azure-init) may use the same file at
// the same time: every update runs under flock(LOCK_EX) and an fcntl
// write lock on the file. A read (Get, At, Len, Records) answers from
// memory when one fstat of the descriptor shows the file as it was loaded
// (see fileState and racyWindow), and otherwise takes the same locks to
// reload it.
type Pool struct {
	n     int
	dir   string
	path  string
	jpath string

	mu        sync.Mutex
	f         poolFile // nil once closed
	fd        int      // f's descriptor, for the lock calls
	fcntlHeld bool     // the fcntl lock is ours until end (see lockFile)
	recs      []Record // file order
	index     map[string]int
	dups      bool        // some key occurs more than once in recs
	fi        os.FileInfo // the file state recs reflects; nil forces a reload
	state     fileState   // fi as fstatState saw it, for the unlocked read path
	clean     bool        // state may be trusted without the locks (not racy)
	loads     int         // whole-file reads, for tests
	// skip lists, in order, the slots of records a Linux kernel cannot
	// return (servableRecord); skipKnown is cleared whenever recs change,
	// and AtServable recomputes it, reusing its memory.
	skip      []int
	skipKnown bool

	// sim is set on the in-memory copy on which a read-only reader
	// replays a pending journal (see simulateJournal): commit then only
	// applies, and nothing touches the disk.
	sim bool
	// log receives the warning about a journal set aside; until SetLogger
	// gives one, the warnings wait in unlogged.
	log      *slog.Logger
	unlogged []rejection

	// hook, when set by a test, is called at each crash point of an
	// update (see pool_journal.go) so a crash can be injected there.
	hook func(step string)
}

// OpenPool opens pool n in dir, creating the directory (0700) and the file
// (0600) if needed and tightening looser modes left by older daemons. It
// finishes an update that a crashed writer left in the journal.
//
// The directory and every directory above it must pass fstrust.CheckDir
// for the effective user, and the pool file is never followed through a
// symbolic link: see checkPoolDir.
func OpenPool(dir string, n int) (*Pool, error) {
	if n < 0 || n >= NumPools {
		return nil, fmt.Errorf("kvp: pool %d out of range 0-%d", n, NumPools-1)
	}
	if err := preparePoolDir(dir); err != nil {
		return nil, err
	}
	name := ".kvp_pool_" + strconv.Itoa(n)
	p := &Pool{
		n:     n,
		dir:   dir,
		path:  filepath.Join(dir, name),
		jpath: filepath.Join(dir, name+".journal"),
	}
	f, err := openPoolFile(p.path)
	if err != nil {
		return nil, err
	}
	p.setFile(f)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		p.f.Close()
		return nil, fmt.Errorf("kvp: open pool %d: %w", n, err)
	}
	p.end()
	return p, nil
}

// preparePoolDir checks dir (see checkPoolDir), creating it first if it
// is missing and its nearest existing parent passes the same check, and
// takes away the group and other read bits older daemons left.
func preparePoolDir(dir string) error {
	err := checkPoolDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := checkPoolDir(existingParent(dir)); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("kvp: create pool directory: %w", err)
		}
		err = checkPoolDir(dir)
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("kvp: pool directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, perm&0o700); err != nil {
			return fmt.Errorf("kvp: tighten pool directory mode: %w", err)
		}
	}
	return nil
}

// checkPoolDir applies the trusted-directory rule (hvagent(8), as sshd's
// StrictModes): whoever can write the pool directory or a directory above
// it can put a symbolic link or a crafted journal where the agent, which
// runs as root, writes.
func checkPoolDir(dir string) error {
	if err := fstrust.CheckDir(dir, os.Geteuid()); err != nil {
		if errors.Is(err, fstrust.ErrUntrusted) {
			return fmt.Errorf("kvp: pool directory %s is not safe to use: %w", dir, err)
		}
		return fmt.Errorf("kvp: pool directory: %w", err)
	}
	return nil
}

// existingParent returns the nearest directory above dir that exists.
func existingParent(dir string) string {
	dir, _ = filepath.Abs(dir)
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || d == "/" {
			return d
		}
	}
}

// openPoolFile opens or creates a pool file without following a symbolic
// link (fstrust.OpenFile): a link or anything but a regular file at path
// is refused.
func openPoolFile(path string) (*os.File, error) {
	f, err := fstrust.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("kvp: open pool file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		err = f.Chmod(fi.Mode().Perm() & 0o600)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("kvp: open pool file: %w", err)
	}
	return f, nil
}

// SetLogger gives p the logger for the warning about an invalid journal
// set aside (see pool_journal.go), and logs those found before.
func (p *Pool) SetLogger(log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = log
	for _, r := range p.unlogged {
		p.logRejected(r)
	}
	p.unlogged = nil
}

func (p *Pool) setFile(f *os.File) {
	p.f = f
	p.fd = int(f.Fd())
}

// Path returns the pool file's path.
func (p *Pool) Path() string { return p.path }

// Get returns the value of the first record with key.
func (p *Pool) Get(key string) (value string, ok bool, err error) {
	if key == "" {
		return "", false, ErrEmptyKey
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.current(); err != nil {
		return "", false, p.wrap("get", err)
	}
	i, ok := p.index[key]
	if !ok {
		return "", false, nil
	}
	return p.recs[i].Value, true, nil
}

// Lookup returns the first record with key, given as the bytes of a
// request: the read path's Get, which allocates nothing.
func (p *Pool) Lookup(key []byte) (Record, bool, error) {
	if len(key) == 0 {
		return Record{}, false, ErrEmptyKey
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.current(); err != nil {
		return Record{}, false, p.wrap("get", err)
	}
	i, ok := p.index[string(key)] // no copy: the compiler looks up the bytes
	if !ok {
		return Record{}, false, nil
	}
	return p.recs[i], true, nil
}

// At returns the record at index in file order; ok is false past the end.
func (p *Pool) At(index int) (Record, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.current(); err != nil {
		return Record{}, false, p.wrap("read", err)
	}
	if index < 0 || index >= len(p.recs) {
		return Record{}, false, nil
	}
	return p.recs[index], true, nil
}

// AtServable is At counting only the records a Linux kernel can return
// to the host (see servable.go): index i is the i-th of them in file
// order. Without such records it is At, and it allocates nothing once
// the pool is loaded.
func (p *Pool) AtServable(index int) (Record, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.current(); err != nil {
		return Record{}, false, p.wrap("read", err)
	}
	if !p.skipKnown {
		p.skip = p.skip[:0]
		for i, r := range p.recs {
			if !servableRecord(r) {
				p.skip = append(p.skip, i)
			}
		}
		p.skipKnown = true
	}
	if index < 0 {
		return Record{}, false, nil
	}
	for _, slot := range p.skip { // in order: each one at or before index shifts it
		if slot > index {
			break
		}
		index++
	}
	if index >= len(p.recs) {
		return Record{}, false, nil
	}
	return p.recs[index], true, nil
}

// Records returns a copy of all records in file order.
func (p *Pool) Records() ([]Record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.current(); err != nil {
		return nil, p.wrap("read", err)
	}
	return slices.Clone(p.recs), nil
}

// Len returns the number of whole records in the file.
func (p *Pool) Len() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.current(); err != nil {
		return 0, p.wrap("read", err)
	}
	return len(p.recs), nil
}

// current brings the records up to date for a read. When one fstat of
// the descriptor shows the file as it was when the records were loaded or
// last written, and that state is not racy, they are current and no lock
// is taken: a writer that changed the file since has changed that state,
// and one at work now has not yet, so the records show the file as it was
// before it began. Otherwise current takes the locks as an update does
// (begin), which also follows a file replaced by rename and finishes a
// crashed writer's journal, and releases them once the records are read.
//
// A journal left by a writer that crashed before changing the pool file
// is finished by the next update or reload, not by a read that finds the
// file unchanged: until then readers see the pool as it was, which is
// what the crashed writer's caller was last told.
func (p *Pool) current() error {
	if p.f == nil {
		return os.ErrClosed
	}
	if p.clean && p.fi != nil {
		if st, err := fstatState(p.fd); err == nil && st.nlink > 0 && st == p.state {
			return nil
		}
	}
	if err := p.begin(); err != nil {
		return err
	}
	p.end()
	return nil
}

// Set is SetMax with DefaultMaxRecords.
func (p *Pool) Set(key, value string) error { return p.SetMax(key, value, DefaultMaxRecords) }

// SetMax replaces the value of the first record with key in place, or
// appends a record if the pool holds fewer than max records; otherwise it
// fails with ErrPoolFull and changes nothing. Other records with the same
// key (only files written by other programs have them) are removed. The
// change is on stable storage when SetMax returns.
func (p *Pool) SetMax(key, value string, max int) error {
	if err := checkRecord(key, value); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return p.wrap("set", err)
	}
	defer p.end()
	if err := p.set(key, value, max); err != nil {
		return p.wrap("set", err)
	}
	return nil
}

func (p *Pool) set(key, value string, max int) error {
	rec := recordBytes(key, value)
	i, ok := p.index[key]
	switch {
	case !ok && len(p.recs) >= max:
		return fmt.Errorf("%w: it holds %d records, the most allowed", ErrPoolFull, len(p.recs))
	case !ok:
		j := &journal{kind: kindAppend, oldSize: int64(len(p.recs)) * recordSize, rec: rec}
		j.slot = j.oldSize / recordSize
		if err := p.keepTail(j.oldSize); err != nil {
			return err
		}
		if err := p.commit(j); err != nil {
			return err
		}
		p.recs = append(p.recs, Record{Key: key, Value: value})
		i = len(p.recs) - 1
		p.index[key] = i
		p.skipKnown = false
	case p.recs[i].Value != value:
		j := &journal{kind: kindReplace, slot: int64(i), oldSize: int64(len(p.recs)) * recordSize, rec: rec}
		if err := p.commit(j); err != nil {
			return err
		}
		p.recs[i].Value = value
		p.skipKnown = false
	}
	for p.dups {
		d := slices.IndexFunc(p.recs[i+1:], func(r Record) bool { return r.Key == key })
		if d < 0 {
			break
		}
		if err := p.deleteSlot(i + 1 + d); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes every record with key and reports whether there was one.
// The remaining records may change order: the last record moves into the
// freed slot. The change is on stable storage when Delete returns.
func (p *Pool) Delete(key string) (found bool, err error) {
	if key == "" {
		return false, ErrEmptyKey
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return false, p.wrap("delete", err)
	}
	defer p.end()
	for {
		i, ok := p.index[key]
		if !ok {
			return found, nil
		}
		if err := p.deleteSlot(i); err != nil {
			return found, p.wrap("delete", err)
		}
		found = true
	}
}

// deleteSlot removes record i by moving the last record into its slot.
func (p *Pool) deleteSlot(i int) error {
	last := len(p.recs) - 1
	j := &journal{kind: kindDelete, slot: int64(i), oldSize: int64(len(p.recs)) * recordSize}
	// The journal holds the last record's bytes as they are on disk, not
	// re-encoded: recovery recognizes it by comparing bytes.
	if err := p.readRecord(int64(last)*recordSize, &j.rec); err != nil {
		return err
	}
	if err := p.keepTail(j.oldSize); err != nil {
		return err
	}
	if err := p.commit(j); err != nil {
		return err
	}
	key := p.recs[i].Key
	p.recs[i] = p.recs[last]
	p.recs = p.recs[:last]
	p.skipKnown = false
	if p.dups {
		p.buildIndex()
		return nil
	}
	delete(p.index, key)
	if i != last {
		p.index[p.recs[i].Key] = i
	}
	return nil
}

// Close releases the file. Operations on a closed Pool fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return nil
	}
	err := p.f.Close()
	p.f, p.recs, p.index = nil, nil, nil
	p.forget()
	if err != nil {
		return fmt.Errorf("kvp: close pool %d: %w", p.n, err)
	}
	return nil
}

func (p *Pool) wrap(op string, err error) error {
	return fmt.Errorf("kvp: %s in pool %d: %w", op, p.n, err)
}

// begin takes the file locks and brings the in-memory records up to date:
// it follows a file replaced by rename, finishes an interrupted update and
// reloads the records if the file changed since we last read or wrote it.
// On success the caller must call end; on failure the locks are released.
func (p *Pool) begin() error {
	if p.f == nil {
		return os.ErrClosed
	}
	for attempt := 0; ; attempt++ {
		held, err := lockFile(p.fd, false)
		if err != nil {
			return fmt.Errorf("lock %s: %w", p.path, err)
		}
		p.fcntlHeld = held
		fi, err := p.f.Stat()
		if err != nil {
			p.end()
			return err
		}
		cur, err := os.Lstat(p.path) // a link there is not our file
		if err == nil && os.SameFile(fi, cur) {
			if err := p.refresh(fi); err != nil {
				p.end()
				return err
			}
			return nil
		}
		p.end()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if attempt == maxReopen {
			return fmt.Errorf("%s keeps being replaced", p.path)
		}
		// Someone replaced or removed the file: follow the path.
		f, err := openPoolFile(p.path)
		if err != nil {
			return err
		}
		p.f.Close()
		p.setFile(f)
		p.forget()
	}
}

// poolFile is what the update and recovery code needs of a pool file: an
// *os.File, or a memFile for a read-only reader's replay.
type poolFile interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	Stat() (os.FileInfo, error)
	Close() error
}

// end releases the file locks. Unlock errors are not reported: closing
// the descriptor releases the locks anyway, and nothing is left to undo.
func (p *Pool) end() { unlockFile(p.fd, p.fcntlHeld) }

// refresh runs under the locks with fi the fresh fstat of the file.
func (p *Pool) refresh(fi os.FileInfo) error {
	if _, err := os.Lstat(p.jpath); err == nil {
		if err := p.recoverJournal(); err != nil {
			p.forget()
			return fmt.Errorf("recover journal: %w", err)
		}
		if fi, err = p.f.Stat(); err != nil {
			return err
		}
		p.forget()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	st, err := fstatState(p.fd)
	if err != nil {
		return err
	}
	if p.fi != nil && p.clean && st == p.state {
		return nil
	}
	return p.load(fi, st)
}

// forget drops the recorded file state: the next operation reloads.
func (p *Pool) forget() {
	p.fi = nil
	p.clean = false
}

// record notes the file state the records now reflect. trusted is set
// after our own update, whose mtime touch has moved past anything a
// reader loaded before; after a load, the state is trusted once it is not
// racy (see racyWindow).
func (p *Pool) record(fi os.FileInfo, st fileState, trusted bool) {
	p.fi = fi
	p.state = st
	p.clean = trusted || !st.racy(time.Now())
}

// loadChunk is how many records load reads per call.
const loadChunk = 256

// load reads every whole record of the file, whose state is fi and st.
// A trailing partial record is ignored (see keepTail). Reading is
// lenient: a field without a NUL is taken whole.
func (p *Pool) load(fi os.FileInfo, st fileState) error {
	recs, err := readRecords(p.f, p.path, fi.Size())
	if err != nil {
		return err
	}
	p.recs = recs
	p.skipKnown = false
	p.buildIndex()
	p.record(fi, st, false)
	p.loads++
	return nil
}

// readRecords reads the whole records of the first size bytes of f.
func readRecords(f io.ReaderAt, path string, size int64) ([]Record, error) {
	n := int(size / recordSize)
	recs := make([]Record, 0, n)
	buf := make([]byte, min(n, loadChunk)*recordSize)
	for off := 0; off < n; off += loadChunk {
		b := buf[:min(n-off, loadChunk)*recordSize]
		if _, err := f.ReadAt(b, int64(off)*recordSize); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		for ; len(b) > 0; b = b[recordSize:] {
			recs = append(recs, parseRecord(b[:recordSize]))
		}
	}
	return recs, nil
}

// buildIndex maps each key to its first record.
func (p *Pool) buildIndex() {
	p.index = make(map[string]int, len(p.recs))
	p.dups = false
	for i, r := range p.recs {
		if _, ok := p.index[r.Key]; ok {
			p.dups = true
			continue
		}
		p.index[r.Key] = i
	}
}

func (p *Pool) readRecord(off int64, rec *[recordSize]byte) error {
	if _, err := p.f.ReadAt(rec[:], off); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: short record at %d: %w", p.path, off, io.ErrUnexpectedEOF)
		}
		return err
	}
	return nil
}

// checkRecord enforces the strict writing rules: a non-empty key, both
// strings short enough to keep their NUL, no NUL inside.
func checkRecord(key, value string) error {
	switch {
	case key == "":
		return ErrEmptyKey
	case len(key) >= MaxKeySize:
		return fmt.Errorf("kvp: key of %d bytes (at most %d): %w", len(key), MaxKeySize-1, ErrTooLong)
	case len(value) >= MaxValueSize:
		return fmt.Errorf("kvp: value of %d bytes (at most %d): %w", len(value), MaxValueSize-1, ErrTooLong)
	case strings.IndexByte(key, 0) >= 0 || strings.IndexByte(value, 0) >= 0:
		return errPoolNUL
	}
	return nil
}

// recordBytes encodes a record: both fields NUL-terminated, zero-filled.
// The strings must have passed checkRecord.
func recordBytes(key, value string) [recordSize]byte {
	var b [recordSize]byte
	copy(b[:MaxKeySize-1], key)
	copy(b[MaxKeySize:recordSize-1], value)
	return b
}

func parseRecord(b []byte) Record {
	return Record{Key: fieldString(b[:MaxKeySize]), Value: fieldString(b[MaxKeySize:recordSize])}
}

// fieldString returns the field up to its first NUL, or all of it.
func fieldString(field []byte) string {
	if i := bytes.IndexByte(field, 0); i >= 0 {
		field = field[:i]
	}
	return string(field)
}

// Store holds the five pools of one directory.
type Store struct {
	pools [NumPools]*Pool
}

// OpenStore opens pools 0 to NumPools-1 in dir.
func OpenStore(dir string) (*Store, error) {
	s := &Store{}
	for n := range NumPools {
		p, err := OpenPool(dir, n)
		if err != nil {
			if cerr := s.Close(); cerr != nil {
				return nil, multierror.Append(err, cerr)
			}
			return nil, err
		}
		s.pools[n] = p
	}
	return s, nil
}

// SetLogger gives every pool the logger for the warnings about invalid
// journals set aside (Pool.SetLogger).
func (s *Store) SetLogger(log *slog.Logger) {
	for _, p := range s.pools {
		if p != nil {
			p.SetLogger(log)
		}
	}
}

// Pool returns pool n, or nil if n is not a pool number.
func (s *Store) Pool(n int) *Pool {
	if n < 0 || n >= NumPools {
		return nil
	}
	return s.pools[n]
}

// Close closes every pool and reports all failures.
func (s *Store) Close() error {
	var result *multierror.Error
	for _, p := range s.pools {
		if p != nil {
			if err := p.Close(); err != nil {
				result = multierror.Append(result, err)
			}
		}
	}
	return result.ErrorOrNil()
}

// nextMtime returns a modification time strictly after prev: now, or one
// nanosecond past prev if the clock has not moved past it.
func nextMtime(prev time.Time) time.Time {
	if t := time.Now(); t.After(prev) {
		return t
	}
	return prev.Add(time.Nanosecond)
}
