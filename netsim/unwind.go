package netsim

// Unwind marks the panic that stops a coroutine of a crashed node. Code that
// recovers panics from user code (the runtime turns them into task errors)
// must re-raise any value implementing interface{ Unwind() } so the
// coroutine can finish unwinding.
func (stopSignal) Unwind() {}
