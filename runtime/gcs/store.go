package gcs

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"raysim/runtime/idmap"
	"raysim/runtime/transport"
)

// Table names one of a shard's tables in its Store.
type Table uint8

// The tables a shard keeps in its store.
const (
	TableObjects Table = iota + 1
	TableTasks
	TableActors
	TableNames
	TableNodes
	TableMeta     // shard-wide values: function digest, dead incarnations, chain position
	TableActorLog // methods of replaying actors since their last checkpoint
	TableFailures // tasks whose results were recorded as an error their owner decided: its kind (transport.GcsTaskFailed)
	TableReruns   // tasks re-executed (retried or rebuilt): the count charged to max_retries and the rebuild under way (rerunRecord)
	numTables     = int(TableReruns)
)

// Store holds a shard's tables durably. Writes are buffered until Sync: a
// crash loses what was written since the last Sync (a real disk loses an
// unsynced page cache the same way). Reads see every write. A Store is used
// by one component, on its loop: it needs no locking. It keeps no key or
// value slice it is given (callers reuse their buffers).
type Store interface {
	Get(t Table, key []byte) ([]byte, bool)
	Put(t Table, key, value []byte)
	Delete(t Table, key []byte)
	// Scan calls f for every entry of t in key order until f returns false.
	Scan(t Table, f func(key, value []byte) bool)
	// Sync makes every write so far durable.
	Sync() error
	// Len is the number of entries in t.
	Len(t Table) int
}

// newPutter is a Store whose Put can tell, at no extra cost, whether the
// key was new (MemStore). The shard uses it to skip looking for the objects
// of a task it has never seen (see Shard.addTask).
type newPutter interface {
	PutNew(t Table, key, value []byte) (isNew bool)
}

// overlay is the unsynced writes on top of a durable layer; a nil value is
// a delete.
type overlay struct {
	pending [numTables + 1]map[string][]byte
	writes  int
}

func (o *overlay) put(t Table, key, value []byte) {
	if o.pending[t] == nil {
		o.pending[t] = make(map[string][]byte)
	}
	o.pending[t][string(key)] = value
	o.writes++
}

func (o *overlay) get(t Table, key []byte) (v []byte, deleted, ok bool) {
	v, ok = o.pending[t][string(key)]
	return v, ok && v == nil, ok
}

// sorted returns the pending writes of t in key order.
func (o *overlay) sorted(t Table) []string {
	keys := make([]string, 0, len(o.pending[t]))
	for k := range o.pending[t] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// reset forgets the pending writes, keeping the maps' memory for the next
// ones (a sync every few dozen writes would otherwise regrow them each time).
func (o *overlay) reset() {
	for t := range o.pending {
		clear(o.pending[t])
	}
	o.writes = 0
}

// MemStore is the simulator's store: a "disk" that outlives the component
// using it — the cluster builder keeps one per GCS endpoint and hands it to
// every incarnation — with a page cache of unsynced writes that Crash throws
// away.
//
// A GCS writes a few entries per task and its tables grow to millions of
// entries, so the layout is chosen for that:
//   - Writes go straight to the tables, each recording how to undo it; Sync
//     forgets the undo log and Crash replays it backwards. (A page cache of
//     pending writes copied over at each Sync would hash every key twice.)
//   - Values live in an append-only arena of large chunks, and a table maps
//     a key to a value's place in it. Keys of up to 16 bytes (every ID key)
//     are stored inline, so a table of ID keys holds no pointers: the garbage
//     collector skips it, a write allocates nothing, and a lookup has no
//     pointer to chase. Values overwritten or deleted become garbage in the
//     arena; a Sync compacts it when garbage outweighs live data.
type MemStore struct {
	tables [numTables + 1]memTable
	arena  memArena
	undo   []undoRec
	// Syncs and Lost count syncs and writes lost to crashes (a key written
	// several times since the last sync counts once).
	Syncs, Lost int
}

// memKey is a short key inline: its bytes and its length.
type memKey struct {
	b [16]byte
	n uint8
}

// shortKey is the inline form of key, if it fits.
func shortKey(key []byte) (memKey, bool) {
	var k memKey
	if len(key) > len(k.b) {
		return k, false
	}
	k.n = uint8(copy(k.b[:], key))
	return k, true
}

func (k *memKey) bytes() []byte { return k.b[:k.n] }

// memVal is a value's place in the arena.
type memVal struct{ chunk, off, n uint32 }

// memArena holds values back to back in chunks that are only appended to,
// so a slice handed out by get stays valid and unchanged.
type memArena struct {
	chunks      [][]byte
	total, live int // bytes appended, and bytes of values still referenced (MemStore.set counts them)
}

const memChunk = 1 << 20

func (a *memArena) add(v []byte) memVal {
	last := len(a.chunks) - 1
	if last < 0 || len(a.chunks[last])+len(v) > cap(a.chunks[last]) {
		a.chunks = append(a.chunks, make([]byte, 0, max(memChunk, len(v))))
		last++
	}
	c := a.chunks[last]
	a.chunks[last] = append(c, v...)
	a.total += len(v)
	return memVal{chunk: uint32(last), off: uint32(len(c)), n: uint32(len(v))}
}

func (a *memArena) get(v memVal) []byte {
	return a.chunks[v.chunk][v.off : v.off+v.n : v.off+v.n]
}

// memTable is one table. Keys of the two shapes a million-task table is
// made of are task IDs: 8 bytes (the task table's keys) and 9 bytes ending
// in a zero (a task ID and index 0: the object table's key of a task's
// first return). They go in maps by task block (package idmap): a driver's
// stream of tasks fills one block after another instead of touching a
// random place of a table of millions per write. Other keys of up to 16
// bytes are inline, longer ones (names, metadata) strings.
type memTable struct {
	w8    idmap.Map[memVal] // 8-byte keys
	w9z   idmap.Map[memVal] // 9-byte keys ending in 0, by their first 8 bytes
	short map[memKey]memVal
	long  map[string]memVal
}

func (t *memTable) get(key []byte) (memVal, bool) {
	switch {
	case len(key) == 8:
		return t.w8.Get(transport.TaskID(binary.LittleEndian.Uint64(key)))
	case len(key) == 9 && key[8] == 0:
		return t.w9z.Get(transport.TaskID(binary.LittleEndian.Uint64(key)))
	}
	if k, ok := shortKey(key); ok {
		v, ok := t.short[k]
		return v, ok
	}
	v, ok := t.long[string(key)]
	return v, ok
}

// set writes (or, if !present, deletes) a key — short, or else long — and
// returns what it held.
func (t *memTable) set(key memKey, long string, value memVal, present bool) (old memVal, had bool) {
	switch {
	case long != "":
		return setKey(&t.long, long, value, present)
	case key.n == 8:
		return setID(&t.w8, key, value, present)
	case key.n == 9 && key.b[8] == 0:
		return setID(&t.w9z, key, value, present)
	}
	return setKey(&t.short, key, value, present)
}

func setKey[K comparable](m *map[K]memVal, k K, v memVal, present bool) (old memVal, had bool) {
	if *m == nil {
		*m = make(map[K]memVal)
	}
	old, had = (*m)[k]
	if present {
		(*m)[k] = v
	} else if had {
		delete(*m, k)
	}
	return old, had
}

// setID is setKey for a table of task-ID keys: the key's first 8 bytes.
func setID(m *idmap.Map[memVal], key memKey, v memVal, present bool) (old memVal, had bool) {
	id := transport.TaskID(binary.LittleEndian.Uint64(key.b[:8]))
	if present {
		return m.Set(id, v)
	}
	return m.Delete(id)
}

func (t *memTable) len() int { return t.w8.Len() + t.w9z.Len() + len(t.short) + len(t.long) }

// keys returns the table's keys in order.
func (t *memTable) keys() [][]byte {
	keys := make([][]byte, 0, t.len())
	for k := range t.w8.All() {
		keys = append(keys, binary.LittleEndian.AppendUint64(nil, uint64(k)))
	}
	for k := range t.w9z.All() {
		keys = append(keys, append(binary.LittleEndian.AppendUint64(make([]byte, 0, 9), uint64(k)), 0))
	}
	for k := range t.short {
		keys = append(keys, k.bytes())
	}
	for k := range t.long {
		keys = append(keys, []byte(k))
	}
	slices.SortFunc(keys, bytes.Compare)
	return keys
}

// undoRec restores one key of one table to what it held before a write.
type undoRec struct {
	t    Table
	had  bool
	key  memKey
	long string // the key, when it is too long for key
	old  memVal
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{} }

// Crash loses every write since the last Sync, as a crashed machine does.
// The cluster builder calls it when it starts a new incarnation on the store.
func (m *MemStore) Crash() {
	type lostKey struct {
		t    Table
		key  memKey
		long string
	}
	lost := make(map[lostKey]struct{}, len(m.undo))
	for i := len(m.undo) - 1; i >= 0; i-- {
		u := &m.undo[i]
		m.set(u.t, u.key, u.long, u.old, u.had)
		lost[lostKey{u.t, u.key, u.long}] = struct{}{}
	}
	m.Lost += len(lost)
	m.forget()
}

// forget drops the undo log, keeping its memory for the next writes.
func (m *MemStore) forget() {
	clear(m.undo)
	m.undo = m.undo[:0]
}

func (m *MemStore) Get(t Table, key []byte) ([]byte, bool) {
	v, ok := m.tables[t].get(key)
	if !ok {
		return nil, false
	}
	return m.arena.get(v), true
}

func (m *MemStore) Put(t Table, key, value []byte) { m.PutNew(t, key, value) }

// PutNew is Put reporting whether the key was new (newPutter): the write
// looks the key up anyway.
func (m *MemStore) PutNew(t Table, key, value []byte) (isNew bool) {
	if value == nil { // a nil value is a delete, as in overlay
		m.Delete(t, key)
		return false
	}
	return !m.write(t, key, m.arena.add(value), true)
}

func (m *MemStore) Delete(t Table, key []byte) { m.write(t, key, memVal{}, false) }

// write sets or deletes a key and reports whether it held a value.
func (m *MemStore) write(t Table, key []byte, v memVal, present bool) (had bool) {
	k, short := shortKey(key)
	var long string
	if !short {
		long = string(key)
	}
	old, had := m.set(t, k, long, v, present)
	if had || present {
		m.undo = append(m.undo, undoRec{t: t, had: had, key: k, long: long, old: old})
	}
	return had
}

// set is memTable.set keeping the arena's count of live bytes.
func (m *MemStore) set(t Table, key memKey, long string, v memVal, present bool) (memVal, bool) {
	old, had := m.tables[t].set(key, long, v, present)
	if had {
		m.arena.live -= int(old.n)
	}
	if present {
		m.arena.live += int(v.n)
	}
	return old, had
}

func (m *MemStore) Sync() error {
	m.forget()
	m.Syncs++
	if garbage := m.arena.total - m.arena.live; garbage > 4*memChunk && garbage > m.arena.live {
		m.compact()
	}
	return nil
}

// compact copies the live values to a new arena. It needs an empty undo log:
// the log points into the old arena.
func (m *MemStore) compact() {
	var fresh memArena
	for t := range m.tables {
		tb := &m.tables[t]
		for k, v := range tb.w8.All() {
			tb.w8.Set(k, fresh.add(m.arena.get(v)))
		}
		for k, v := range tb.w9z.All() {
			tb.w9z.Set(k, fresh.add(m.arena.get(v)))
		}
		for k, v := range tb.short {
			tb.short[k] = fresh.add(m.arena.get(v))
		}
		for k, v := range tb.long {
			tb.long[k] = fresh.add(m.arena.get(v))
		}
	}
	fresh.live = fresh.total
	m.arena = fresh
}

func (m *MemStore) Scan(t Table, f func(key, value []byte) bool) {
	for _, k := range m.tables[t].keys() {
		if v, ok := m.Get(t, k); ok && !f(k, v) {
			return
		}
	}
}

func (m *MemStore) Len(t Table) int { return m.tables[t].len() }

// BoltStore keeps the tables in a bbolt file (one bucket per table), for
// GCS endpoints of a real cluster. Writes are buffered and committed in one
// transaction (one fsync) per Sync.
type BoltStore struct {
	db *bolt.DB
	overlay
	lens [numTables + 1]int
}

// ErrStoreInUse: another process has the store open (a second head on the
// same directory).
var ErrStoreInUse = errors.New("gcs: the store is in use by another process")

// ErrStoreDamaged: the store file is truncated or corrupt.
var ErrStoreDamaged = errors.New("gcs: the store file is damaged")

// storeLockWait bounds the wait for another process's lock on a store.
const storeLockWait = time.Second

// OpenBolt opens (creating if needed) the store file at path. A file held
// by another process (ErrStoreInUse), truncated or corrupt
// (ErrStoreDamaged) or of another format (ErrStoreFormat) is an error.
//
// checkBoltFile refuses what it can see before bbolt reads the file; bbolt
// panics on other damage (a freelist or branch page of the wrong type), and
// opening recovers that panic as ErrStoreDamaged: a GCS given a damaged
// store says so and stops, where the panic killed it. (A panic in bolt.Open
// itself leaves the file's lock and mapping to the process, which is about
// to stop.)
func OpenBolt(path string) (s *BoltStore, err error) {
	if err := checkBoltFile(path); err != nil {
		return nil, fmt.Errorf("gcs: open store %s: %w", path, err)
	}
	var db *bolt.DB
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				db.Close()
			}
			s, err = nil, fmt.Errorf("gcs: open store %s: %w: %v", path, ErrStoreDamaged, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: storeLockWait})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (locked for %v)", ErrStoreInUse, path, storeLockWait)
	}
	if err != nil {
		return nil, fmt.Errorf("gcs: open store %s: %w", path, err)
	}
	s = &BoltStore{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		entries := 0
		for t := 1; t <= numTables; t++ {
			b, err := tx.CreateBucketIfNotExists(bucket(Table(t)))
			if err != nil {
				return err
			}
			s.lens[t] = b.Stats().KeyN
			entries += s.lens[t]
		}
		return checkFormat(tx, entries)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("gcs: open store %s: %w", path, err)
	}
	return s, nil
}

func bucket(t Table) []byte { return []byte{'t', byte(t)} }

// checkBoltFile refuses a bbolt file shorter than its own header says it
// is: bbolt maps the file and reads its freelist page before checking
// anything, and a page past the end of a truncated file kills the process
// (SIGBUS) where an error was due. A file whose meta pages are not bbolt's
// (no magic, a bad checksum) is left to bbolt, which reports it; a missing
// or empty file is a new store.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	// A meta page: a 16-byte page header, then magic, version, page size,
	// flags (4 bytes each), the root bucket (16), the freelist's page (8),
	// the high-water page count (8), the transaction id (8) and an FNV-64a
	// checksum of what precedes it (8).
	const hdr, metaLen, magic = 16, 64, 0xED0CDAED
	meta := func(off int64) (pageSize uint32, pages, txid uint64, ok bool) {
		b := make([]byte, metaLen)
		if _, err := f.ReadAt(b, off+hdr); err != nil {
			return 0, 0, 0, false
		}
		le := binary.LittleEndian
		h := fnv.New64a()
		h.Write(b[:56])
		if le.Uint32(b[0:]) != magic || h.Sum64() != le.Uint64(b[56:]) {
			return 0, 0, 0, false
		}
		return le.Uint32(b[8:]), le.Uint64(b[40:]), le.Uint64(b[48:]), true
	}
	ps0, pages0, tx0, ok0 := meta(0)
	pageSize, pages := ps0, pages0
	if !ok0 {
		// A torn meta page 0: bbolt falls back to meta page 1, one page
		// in, whatever the page size was.
		for _, ps := range []int64{int64(os.Getpagesize()), 4096, 8192, 16384, 32768, 65536} {
			if ps1, pages1, _, ok1 := meta(ps); ok1 && int64(ps1) == ps {
				pageSize, pages, ok0 = ps1, pages1, true
				break
			}
		}
		if !ok0 {
			return nil // not a bbolt file bbolt can read: it says so
		}
	} else if ps1, pages1, tx1, ok1 := meta(int64(ps0)); ok1 && tx1 > tx0 {
		pageSize, pages = ps1, pages1 // bbolt reads the newer
	}
	if need := int64(pages) * int64(pageSize); st.Size() < need {
		return fmt.Errorf("%w: %d bytes where its header counts %d pages of %d (%d bytes): truncated", ErrStoreDamaged, st.Size(), pages, pageSize, need)
	}
	return nil
}

// storeFormat names the encoding of a store's entries. They are encoded
// with the wire codec: a protocol change that changes how an entry's
// fields (specs, object IDs, nodes...) encode changes it too, one that
// only adds messages (protocol 10: GcsAddObjects) does not. It was the
// protocol version when the two were one; 10: an object's locations carry
// the incarnation that announced each; 11: task IDs come in blocks and a
// task's shard is its block's (transport.ChildTaskID, Layout.ShardOfTask),
// so a store written before holds tasks on shards no reader would ask;
// 12: an actor's entry ends with the incarnation that reported it alive;
// 13: an actor's info (transport.ActorInfo) carries its host's incarnation;
// 14: a spec's strategy byte carries TaskSpec.Rebuild in its high bit (a
// rebuild's spec is written to the task table, a rebuilt call's to an
// actor's method log); 15: the cancels table became the failures table,
// each value the failure's error kind; 16: a node's entry holds its last
// heartbeat with the time the chain's head took it (Heartbeat.TakenAt);
// 17: the heartbeat there carries when its node sent it and how long it
// waited at the chain's head instead (Heartbeat.Sent, Held); 18: and its
// node's mean bandwidth (Heartbeat.MeanBandwidth); 19: the node order
// and the deaths are one meta key per place (orderKey) and per death
// (deadKey, with the count in "death-seq"), where "node-order" and "dead"
// held whole lists written again on every registration and death.
const storeFormat = 19

var (
	formatBucket = []byte("format")
	formatKey    = []byte("version")
)

// ErrStoreFormat: a store written by a raysim whose entries are encoded
// differently (read, they would decode to wrong values without an error).
var ErrStoreFormat = errors.New("gcs: the store was written by an incompatible raysim version")

// checkFormat stamps an empty store with this version's format and refuses
// one stamped with another (or, holding entries, with none: written before
// stores were stamped).
func checkFormat(tx *bolt.Tx, entries int) error {
	b, err := tx.CreateBucketIfNotExists(formatBucket)
	if err != nil {
		return err
	}
	want := []byte{storeFormat}
	got := b.Get(formatKey)
	switch {
	case got == nil && entries == 0:
		return b.Put(formatKey, want)
	case got == nil:
		return fmt.Errorf("%w: it has %d entries and no format stamp (this version writes format %d); start with an empty directory", ErrStoreFormat, entries, want[0])
	case !bytes.Equal(got, want):
		return fmt.Errorf("%w: format %d, this version reads format %d; start with an empty directory", ErrStoreFormat, got[0], want[0])
	}
	return nil
}

// Close syncs and closes the file.
func (s *BoltStore) Close() error {
	err := s.Sync()
	return cmp.Or(err, s.db.Close())
}

func (s *BoltStore) Get(t Table, key []byte) ([]byte, bool) {
	if v, del, ok := s.get(t, key); ok {
		return v, !del
	}
	var out []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket(t)).Get(key); v != nil {
			out = slices.Clone(v)
		}
		return nil
	})
	return out, out != nil
}

func (s *BoltStore) has(t Table, key []byte) bool {
	_, ok := s.Get(t, key)
	return ok
}

func (s *BoltStore) Put(t Table, key, value []byte) {
	if !s.has(t, key) {
		s.lens[t]++
	}
	s.put(t, key, slices.Clone(value))
}

func (s *BoltStore) Delete(t Table, key []byte) {
	if s.has(t, key) {
		s.lens[t]--
	}
	s.put(t, key, nil)
}

func (s *BoltStore) Len(t Table) int { return s.lens[t] }

func (s *BoltStore) Sync() error {
	if s.writes == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for t := 1; t <= numTables; t++ {
			b := tx.Bucket(bucket(Table(t)))
			for _, k := range s.sorted(Table(t)) {
				v := s.pending[t][k]
				var err error
				if v == nil {
					err = b.Delete([]byte(k))
				} else {
					err = b.Put([]byte(k), v)
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gcs: sync store: %w", err)
	}
	s.reset()
	return nil
}

func (s *BoltStore) Scan(t Table, f func(key, value []byte) bool) {
	pend := s.sorted(t)
	var durable [][2][]byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket(t)).ForEach(func(k, v []byte) error {
			durable = append(durable, [2][]byte{slices.Clone(k), slices.Clone(v)})
			return nil
		})
	})
	// Merge the two sorted sequences, pending writes winning.
	i, j := 0, 0
	for i < len(durable) || j < len(pend) {
		var k, v []byte
		switch {
		case j >= len(pend) || (i < len(durable) && bytes.Compare(durable[i][0], []byte(pend[j])) < 0):
			k, v = durable[i][0], durable[i][1]
			i++
		default:
			k, v = []byte(pend[j]), s.pending[t][pend[j]]
			if i < len(durable) && bytes.Equal(durable[i][0], k) {
				i++
			}
			j++
		}
		if v != nil && !f(k, v) {
			return
		}
	}
}
