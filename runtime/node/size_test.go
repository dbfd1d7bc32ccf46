package node

import (
	"testing"
	"unsafe"
)

// TestTaskSize: a task is allocated per task accepted and lives while it
// is in flight (a million queued in the pending benchmark): keep it in the
// allocator's 80-byte size class.
func TestTaskSize(t *testing.T) {
	if n := unsafe.Sizeof(task{}); n > 80 {
		t.Fatalf("task is %d bytes, more than the 80-byte size class", n)
	}
}

// TestFetchSize: a fetch per object awaited here: keep it in the 48-byte
// size class.
func TestFetchSize(t *testing.T) {
	if n := unsafe.Sizeof(fetch{}); n > 48 {
		t.Fatalf("fetch is %d bytes, more than the 48-byte size class", n)
	}
}

// TestOwnedTaskSize: an ownedTask per task submitted and not yet done (a
// million in the 100-node run): keep it in the 48-byte size class.
func TestOwnedTaskSize(t *testing.T) {
	if n := unsafe.Sizeof(ownedTask{}); n > 48 {
		t.Fatalf("ownedTask is %d bytes, more than the 48-byte size class", n)
	}
}
