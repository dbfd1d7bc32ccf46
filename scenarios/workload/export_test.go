package workload

// SetTamper sets the test seam tamper (nil: none) and returns a function
// that clears it.
func SetTamper(f func(what string, v any) any) func() {
	tamper = f
	return func() { tamper = nil }
}
