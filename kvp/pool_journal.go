package kvp

// Crash safety of pool updates (hvagent(8), KVP POOLS, "Durability and
// crash recovery").
//
// A crash, SIGKILL or power loss at any instant must leave a pool file with
// its old or its new content, must never truncate it, and must never lose a
// record that another program appended. Those other programs (cloud-init,
// azure-init) append whole 2560-byte records at end of file under flock,
// often through a descriptor they opened long before. Writing a new file
// and renaming it over the pool would lose any record appended through such
// a descriptor after our copy was taken, so the pool file is never replaced:
// every update changes at most one record slot and the file length, in
// place, guarded by a redo journal <dir>/.kvp_pool_<n>.journal.
//
// An update is exactly one of three kinds:
//
//   - replace slot i: one 2560-byte write at i*2560.
//   - append at oldSize: ftruncate to oldSize+2560 first (the extension
//     reads as zeros and is atomic, so an appender that runs after a crash
//     lands after our slot, aligned), then write the record at oldSize.
//   - delete slot i: copy the last record L into slot i, fsync, truncate
//     the file by one record. Deleting the last record is just the truncate.
//     The last record changes place; that is O(1), unlike shifting the tail.
//
// The protocol, all under both file locks:
//
//  1. Write the journal (magic, version, pool, kind, slot, oldSize, the
//     record involved: the new one for replace and append, L for delete,
//     the slot's previous bytes for replace and delete, CRC-32 over all of
//     it) to a temporary file, fsync it, rename it to the
//     journal name, fsync the directory.
//  2. Apply the change in place and fsync the pool file.
//  3. Remove the journal and fsync the directory.
//
// Recovery runs under the locks whenever an operation (OpenPool included)
// finds a journal. The journal names nothing but its pool's number (which
// must be the pool of the journal's own name, .kvp_pool_<n>.journal) and
// a slot and size within that pool's file: no path, so a replay can only
// ever write to <dir>/.kvp_pool_<n>, and only within its current size plus
// one record. A journal that is not a regular file (a symbolic link, say),
// is short or long, unknown, of another pool or fails its CRC cannot come
// from the protocol above (step 1 renames only complete journals into
// place): it is refused whole, never replayed, and kept aside for
// inspection as .kvp_pool_<n>.journal.rejected.<UTC time>, with a warning
// in the log. The pool is then used as it is.
//
// Read-only readers (the CLI's list and get, ReadPool) never replay a
// journal on disk: they replay a valid one on a copy of the file in memory
// and show the result, which is what the next writer will produce.
//
// A valid journal is redone with guards, because other programs may have
// appended records between the crash and the recovery:
//
//   - replace: write the record at slot i again (idempotent), provided
//     every sector of the slot still holds the old or the new record's
//     bytes; anything else means the file was emptied and refilled by
//     another writer since (cloud-init empties pool 1 at boot), and the
//     slot is now theirs.
//   - append, file size < oldSize+2560: the extension never reached the
//     disk; append again at oldSize. A size below oldSize means someone
//     emptied the file since (cloud-init does at boot); the journal is
//     dropped.
//   - append, a whole slot at oldSize: if each 512-byte sector of it is all
//     zeros or equal to our record (a torn write of ours), write our record
//     there. Otherwise a foreign appender got there first (the extension
//     was lost): our record is appended at the end instead, as a new
//     journaled append.
//   - delete: if the record at oldSize-2560 still equals L, the truncate
//     has not happened: write L to slot i again, then drop the stale copy
//     at oldSize-2560, by truncating if it is the last record, or else
//     (foreign records were appended after the crash) by deleting that slot
//     as a new journaled delete, which moves the file's last record into
//     it. Otherwise the truncate happened: make sure slot i holds L, unless
//     slot i was itself the last record (a foreign record may sit there
//     now).
//
// Recovery steps that are not idempotent (the two "new journaled"
// operations) first replace the journal atomically by rename, so a crash
// during recovery is recovered the same way. Shifting the foreign tail down
// by one record, the obvious alternative for the delete case, is not
// idempotent with one journal: a crash halfway would duplicate a record.
//
// The guards compare bytes, so a foreign record that is byte-for-byte
// identical to L or sector-for-sector identical to our new record is taken
// for ours; a foreign writer would have to write exactly our record for
// this to matter.
//
// Each update also leaves the file's mtime strictly later than before
// (see touch), so that other processes, which reload only when the
// file's identity, size or mtime changed, see an in-place replace even
// when the file system clock is coarse.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/hvagent/hvagent/internal/fstrust"
)

type journalKind uint32

const (
	kindReplace journalKind = 1
	kindAppend  journalKind = 2
	kindDelete  journalKind = 3
)

// Journal layout, little-endian:
//
//	0   magic "HVKVPJNL"
//	8   version uint32
//	12  pool    uint32
//	16  kind    uint32
//	20  zero    uint32
//	24  slot    uint64 (record index; for an append oldSize/2560)
//	32  oldSize uint64 (record-aligned file size the update was computed on)
//	40  record  [2560]byte (the new record; L for a delete)
//	2600 old    [2560]byte (slot's content before the update; replace, delete)
//	5160 CRC-32 (IEEE) of bytes 0..5159
const (
	journalMagic   = "HVKVPJNL"
	journalVersion = 2
	journalHeader  = 40
	journalSize    = journalHeader + 2*recordSize + 4
)

// sectorSize is the unit a torn write is assumed to respect: each aligned
// 512-byte sector holds either its old or its new bytes.
const sectorSize = 512

type journal struct {
	kind    journalKind
	slot    int64
	oldSize int64
	rec     [recordSize]byte
	// old is what slot held before a replace or delete. Recovery writes
	// the slot again only while it still holds old or rec (sector by
	// sector): if it holds anything else, the file was emptied and
	// refilled by another writer since (cloud-init does so at boot), and
	// the slot is theirs.
	old [recordSize]byte
}

func (j *journal) marshal(pool int) []byte {
	b := make([]byte, journalSize)
	le := binary.LittleEndian
	copy(b, journalMagic)
	le.PutUint32(b[8:], journalVersion)
	le.PutUint32(b[12:], uint32(pool))
	le.PutUint32(b[16:], uint32(j.kind))
	le.PutUint64(b[24:], uint64(j.slot))
	le.PutUint64(b[32:], uint64(j.oldSize))
	copy(b[journalHeader:], j.rec[:])
	copy(b[journalHeader+recordSize:], j.old[:])
	le.PutUint32(b[journalSize-4:], crc32.ChecksumIEEE(b[:journalSize-4]))
	return b
}

// maxJournalSize bounds a journal's oldSize: far above any pool the
// record cap allows, and low enough that no offset computed from it
// overflows.
const maxJournalSize = 1 << 40

// unmarshalJournal decodes b; ok is false for anything but a complete,
// consistent journal of this pool.
func unmarshalJournal(b []byte, pool int) (j *journal, ok bool) {
	j, err := decodeJournal(b, pool)
	return j, err == nil
}

// decodeJournal decodes b, or says why it is not a complete, consistent
// journal of this pool.
func decodeJournal(b []byte, pool int) (*journal, error) {
	le := binary.LittleEndian
	switch {
	case len(b) != journalSize:
		return nil, fmt.Errorf("%d bytes, not %d", len(b), journalSize)
	case string(b[:8]) != journalMagic:
		return nil, errors.New("no journal magic")
	case le.Uint32(b[journalSize-4:]) != crc32.ChecksumIEEE(b[:journalSize-4]):
		return nil, errors.New("checksum mismatch")
	case le.Uint32(b[8:]) != journalVersion:
		return nil, fmt.Errorf("version %d, not %d", le.Uint32(b[8:]), journalVersion)
	case le.Uint32(b[12:]) != uint32(pool):
		return nil, fmt.Errorf("names pool %d, not its own pool %d", le.Uint32(b[12:]), pool)
	}
	j := &journal{
		kind:    journalKind(le.Uint32(b[16:])),
		slot:    int64(le.Uint64(b[24:])),
		oldSize: int64(le.Uint64(b[32:])),
	}
	copy(j.rec[:], b[journalHeader:])
	copy(j.old[:], b[journalHeader+recordSize:])
	if j.oldSize < 0 || j.oldSize > maxJournalSize || j.oldSize%recordSize != 0 ||
		j.slot < 0 || j.slot > j.oldSize/recordSize {
		return nil, fmt.Errorf("slot %d or size %d out of range", j.slot, j.oldSize)
	}
	ok := false
	switch j.kind {
	case kindReplace, kindDelete:
		ok = j.slot*recordSize < j.oldSize
	case kindAppend:
		ok = j.slot*recordSize == j.oldSize
	}
	if !ok {
		return nil, fmt.Errorf("kind %d does not fit slot %d of %d bytes", j.kind, j.slot, j.oldSize)
	}
	return j, nil
}

// crash calls the test hook at a crash point.
func (p *Pool) crash(step string) {
	if p.hook != nil {
		p.hook(step)
	}
}

// commit performs one journaled update. If applying it fails, it is redone
// once at once; if that fails too, the journal stays and the next
// operation finishes the update (so an update reported as failed may still
// take effect later, as the journal promised).
func (p *Pool) commit(j *journal) error {
	before, err := p.f.Stat()
	if err != nil {
		return err
	}
	if j.kind == kindReplace || j.kind == kindDelete {
		if err := p.readRecord(j.slot*recordSize, &j.old); err != nil {
			return err
		}
	}
	if p.sim {
		return p.apply(j, before.Size()) // a replay in memory: nothing to journal
	}
	if err := p.writeJournal(j); err != nil {
		return err
	}
	p.crash("journal")
	if err := p.apply(j, before.Size()); err != nil {
		// Finish it now if the failure was passing; otherwise the journal
		// stays and every later operation tries again before serving.
		if rerr := p.recoverJournal(); rerr != nil {
			p.forget()
			return err
		}
	}
	p.crash("applied")
	// The mtime moves (and reaches the disk) before the journal goes, so
	// no crash leaves an applied update that other readers' caches miss.
	if err := p.touch(before.ModTime()); err != nil {
		return err
	}
	if err := p.removeJournal(); err != nil {
		p.forget()
		return err
	}
	p.crash("removed")
	return nil
}

// apply makes the change j describes; size is the current file size.
func (p *Pool) apply(j *journal, size int64) error {
	off := j.slot * recordSize
	switch j.kind {
	case kindReplace:
		return p.writeRecord(off, &j.rec)
	case kindAppend:
		if size != j.oldSize {
			// A partial record left at the end by a crashed writer:
			// drop it so that the extension reads as zeros.
			if err := p.f.Truncate(j.oldSize); err != nil {
				return err
			}
		}
		if err := p.f.Truncate(j.oldSize + recordSize); err != nil {
			return err
		}
		p.crash("extend")
		return p.writeRecord(off, &j.rec)
	case kindDelete:
		last := j.oldSize - recordSize
		if off != last {
			if err := p.writeRecord(off, &j.rec); err != nil {
				return err
			}
			p.crash("moved")
		}
		return p.truncate(last)
	}
	return fmt.Errorf("unknown journal kind %d", j.kind)
}

func (p *Pool) writeRecord(off int64, rec *[recordSize]byte) error {
	if _, err := p.f.WriteAt(rec[:], off); err != nil {
		return err
	}
	p.crash("write")
	return p.f.Sync()
}

func (p *Pool) truncate(size int64) error {
	if err := p.f.Truncate(size); err != nil {
		return err
	}
	p.crash("truncate")
	return p.f.Sync()
}

// touch records the file state after our update, first moving the mtime
// past prev if the file system clock did not: a reader that cached the
// old state must see a difference even if the size did not change.
func (p *Pool) touch(prev time.Time) error {
	fi, err := p.f.Stat()
	if err != nil {
		p.forget()
		return err
	}
	if !fi.ModTime().After(prev) {
		// By path: begin has made sure the path names our descriptor's
		// file; should it have become a link since, the link's own time
		// changes, not its target's.
		if err := fstrust.SetMtime(p.path, nextMtime(prev)); err != nil {
			p.forget()
			return err
		}
		if err := p.f.Sync(); err != nil {
			p.forget()
			return err
		}
		if fi, err = p.f.Stat(); err != nil {
			p.forget()
			return err
		}
	}
	st, err := fstatState(p.fd)
	if err != nil {
		p.forget()
		return err
	}
	p.record(fi, st, true)
	return nil
}

func (p *Pool) writeJournal(j *journal) error {
	tmp := p.jpath + ".tmp"
	f, err := createTemp(tmp)
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	_, err = f.Write(j.marshal(p.n))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p.jpath)
	}
	if err == nil {
		err = syncDir(p.dir)
	}
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	return nil
}

// createTemp creates path with O_EXCL, never through a symbolic link. What
// is already there is a leftover of a writer that crashed before its
// rename (we hold the pool's locks, so no live writer is using it) or
// something planted: it is removed (a link itself, not its target) and the
// creation tried once more.
func createTemp(path string) (*os.File, error) {
	const flag = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	f, err := fstrust.OpenFile(path, flag, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		f, err = fstrust.OpenFile(path, flag, 0o600)
	}
	return f, err
}

func (p *Pool) removeJournal() error {
	if err := os.Remove(p.jpath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	if err := syncDir(p.dir); err != nil {
		return fmt.Errorf("remove journal: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// recoverJournal finishes the update the journal describes, or sets an
// invalid journal aside.
func (p *Pool) recoverJournal() error {
	j, invalid, err := readJournal(p.jpath, p.n)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case invalid != nil:
		return p.rejectJournal(invalid)
	}
	fi, err := p.f.Stat()
	if err != nil {
		return err
	}
	if err := p.redo(j, fi.Size()); err != nil {
		return err
	}
	return p.removeJournal()
}

// readJournal reads the journal at path, never through a symbolic link.
// invalid says why what is there is not a journal of pool n; err is an
// error reading it (fs.ErrNotExist if there is none).
func readJournal(path string, n int) (j *journal, invalid, err error) {
	f, err := fstrust.OpenFile(path, os.O_RDONLY, 0)
	switch {
	case errors.Is(err, fstrust.ErrSymlink):
		return nil, errors.New("a symbolic link"), nil
	case errors.Is(err, fstrust.ErrNotRegular):
		return nil, errors.New("not a regular file"), nil
	case err != nil:
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, journalSize+1))
	if err != nil {
		return nil, nil, err
	}
	j, invalid = decodeJournal(b, n)
	return j, invalid, nil
}

// rejection is an invalid journal set aside.
type rejection struct {
	aside string
	why   error
}

// rejectJournal renames the invalid journal aside, never to be replayed,
// and warns about it.
func (p *Pool) rejectJournal(why error) error {
	aside := p.jpath + ".rejected." + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(p.jpath, aside); err != nil {
		return fmt.Errorf("set invalid journal aside: %w", err)
	}
	if err := syncDir(p.dir); err != nil {
		return fmt.Errorf("set invalid journal aside: %w", err)
	}
	r := rejection{aside: aside, why: why}
	if p.log == nil {
		p.unlogged = append(p.unlogged, r)
		return nil
	}
	p.logRejected(r)
	return nil
}

func (p *Pool) logRejected(r rejection) {
	p.log.Warn("invalid pool journal refused, not replayed, kept for inspection",
		"pool", PoolName(p.n), "journal", r.aside, "reason", r.why)
}

// redo applies j again with the guards described at the top of this file.
func (p *Pool) redo(j *journal, size int64) error {
	switch j.kind {
	case kindReplace:
		return p.redoSlot(j, size)
	case kindAppend:
		return p.redoAppend(j, size)
	case kindDelete:
		return p.redoDelete(j, size)
	}
	return nil
}

func (p *Pool) redoAppend(j *journal, size int64) error {
	switch {
	case size < j.oldSize:
		return nil // emptied since
	case size < j.oldSize+recordSize:
		return p.apply(j, size) // the extension did not reach the disk
	}
	var cur [recordSize]byte
	if err := p.readRecord(j.oldSize, &cur); err != nil {
		return err
	}
	if tornOrOurs(&cur, &j.rec) {
		return p.writeRecord(j.oldSize, &j.rec)
	}
	// A foreign record took our slot: append ours after everything.
	end := size / recordSize * recordSize
	return p.commit(&journal{kind: kindAppend, slot: end / recordSize, oldSize: end, rec: j.rec})
}

func (p *Pool) redoDelete(j *journal, size int64) error {
	off, last := j.slot*recordSize, j.oldSize-recordSize
	var cur [recordSize]byte
	if size >= j.oldSize {
		if err := p.readRecord(last, &cur); err != nil {
			return err
		}
	}
	if size < j.oldSize || cur != j.rec {
		// The truncate happened. Slot i is ours to fix unless it was the
		// last slot, which may hold a foreign record by now.
		if off < last {
			return p.redoSlot(j, size)
		}
		return nil
	}
	if off != last {
		if ours, err := p.slotIsOurs(j, size); err != nil || !ours {
			return err // refilled by another writer since: leave it
		}
		if err := p.writeRecord(off, &j.rec); err != nil {
			return err
		}
	}
	end := size / recordSize * recordSize
	if end == j.oldSize {
		return p.truncate(last)
	}
	// Foreign records follow the stale copy of L: delete its slot by
	// moving the file's last record into it.
	stale := &journal{kind: kindDelete, slot: last / recordSize, oldSize: end}
	if err := p.readRecord(end-recordSize, &stale.rec); err != nil {
		return err
	}
	return p.commit(stale)
}

// redoSlot writes j.rec to slot j.slot again if the slot still holds the
// old record, the new one, or a torn mix of the two.
func (p *Pool) redoSlot(j *journal, size int64) error {
	ours, err := p.slotIsOurs(j, size)
	if err != nil || !ours {
		return err
	}
	return p.writeRecord(j.slot*recordSize, &j.rec)
}

// slotIsOurs reports whether slot j.slot exists and each of its sectors
// holds j.old's or j.rec's bytes.
func (p *Pool) slotIsOurs(j *journal, size int64) (bool, error) {
	off := j.slot * recordSize
	if off+recordSize > size {
		return false, nil // the slot is gone: someone emptied the file
	}
	var cur [recordSize]byte
	if err := p.readRecord(off, &cur); err != nil {
		return false, err
	}
	for s := 0; s < recordSize; s += sectorSize {
		c := string(cur[s : s+sectorSize])
		if c != string(j.old[s:s+sectorSize]) && c != string(j.rec[s:s+sectorSize]) {
			return false, nil
		}
	}
	return true, nil
}

// tornOrOurs reports whether every sector of cur is all zeros or equal to
// the same sector of ours: what a (possibly torn) write of ours over a
// fresh zero extension leaves behind.
func tornOrOurs(cur, ours *[recordSize]byte) bool {
	for s := 0; s < recordSize; s += sectorSize {
		c, o := cur[s:s+sectorSize], ours[s:s+sectorSize]
		if string(c) != string(o) && !allZero(c) {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
