package gcs

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
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
	numTables     = int(TableActorLog)
)

// Store holds a shard's tables durably. Writes are buffered until Sync: a
// crash loses what was written since the last Sync (a real disk loses an
// unsynced page cache the same way). Reads see every write. A Store is used
// by one component, on its loop: it needs no locking.
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

// MemStore is the simulator's store: a "disk" (the durable maps) that
// outlives the component using it — the cluster builder keeps one per GCS
// endpoint and hands it to every incarnation — and a page cache of unsynced
// writes that Crash throws away.
type MemStore struct {
	durable [numTables + 1]map[string][]byte
	overlay
	// Syncs and Lost count syncs and writes lost to crashes.
	Syncs, Lost int
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{} }

// Crash loses every write since the last Sync, as a crashed machine does.
// The cluster builder calls it when it starts a new incarnation on the store.
func (m *MemStore) Crash() {
	for _, p := range m.pending {
		m.Lost += len(p)
	}
	m.reset()
}

func (m *MemStore) Get(t Table, key []byte) ([]byte, bool) {
	if v, del, ok := m.get(t, key); ok {
		return v, !del
	}
	v, ok := m.durable[t][string(key)]
	return v, ok
}

func (m *MemStore) Put(t Table, key, value []byte) { m.put(t, key, slices.Clone(value)) }
func (m *MemStore) Delete(t Table, key []byte)     { m.put(t, key, nil) }

func (m *MemStore) Sync() error {
	for t, p := range m.pending {
		for k, v := range p {
			if m.durable[t] == nil {
				m.durable[t] = make(map[string][]byte)
			}
			if v == nil {
				delete(m.durable[t], k)
			} else {
				m.durable[t][k] = v
			}
		}
	}
	m.reset()
	m.Syncs++
	return nil
}

func (m *MemStore) Scan(t Table, f func(key, value []byte) bool) {
	keys := make([]string, 0, len(m.durable[t])+len(m.pending[t]))
	for k := range m.durable[t] {
		keys = append(keys, k)
	}
	for k := range m.pending[t] {
		if _, ok := m.durable[t][k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v, ok := m.Get(t, []byte(k)); ok && !f([]byte(k), v) {
			return
		}
	}
}

func (m *MemStore) Len(t Table) int {
	n := len(m.durable[t])
	for k, v := range m.pending[t] {
		_, in := m.durable[t][k]
		switch {
		case v == nil && in:
			n--
		case v != nil && !in:
			n++
		}
	}
	return n
}

// BoltStore keeps the tables in a bbolt file (one bucket per table), for
// GCS endpoints of a real cluster. Writes are buffered and committed in one
// transaction (one fsync) per Sync.
type BoltStore struct {
	db *bolt.DB
	overlay
	lens [numTables + 1]int
}

// OpenBolt opens (creating if needed) the store file at path.
func OpenBolt(path string) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return nil, fmt.Errorf("gcs: open store %s: %w", path, err)
	}
	s := &BoltStore{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for t := 1; t <= numTables; t++ {
			b, err := tx.CreateBucketIfNotExists(bucket(Table(t)))
			if err != nil {
				return err
			}
			s.lens[t] = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("gcs: open store %s: %w", path, err)
	}
	return s, nil
}

func bucket(t Table) []byte { return []byte{'t', byte(t)} }

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
