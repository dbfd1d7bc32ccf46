package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestGPUsPerDevice: fractions are packed onto the first device with room
// (two halves leave the second GPU whole for a one-GPU task), a whole
// request takes wholly free devices only, and giving back returns each
// device's share once.
func TestGPUsPerDevice(t *testing.T) {
	const u = transport.ResourceUnit
	r := &Raylet{gpus: newGPUs(2 * u), avail: transport.Resources{GPU: 2 * u}}
	task := func(gpu int64) *task {
		tk := &task{spec: &transport.TaskSpec{Resources: transport.Resources{GPU: gpu}}, holds: true}
		require.True(t, r.gpusFit(gpu), "%d units fit %v", gpu, r.gpus)
		r.avail = r.avail.Sub(tk.spec.Resources)
		r.takeGPUs(tk)
		return tk
	}
	h1, h2 := task(u/2), task(u/2)
	require.Equal(t, []int64{0, u}, r.gpus, "halves packed on one GPU")
	require.False(t, r.gpusFit(2*u))
	one := task(u)
	require.Equal(t, []int64{0, 0}, r.gpus)
	require.False(t, r.gpusFit(u/10))
	r.giveBack(h1)
	r.giveBack(h1)
	require.Equal(t, []int64{u / 2, 0}, r.gpus, "returned once")
	require.False(t, r.gpusFit(u), "half a GPU free on each of none: no whole one")
	r.giveBack(h2)
	r.giveBack(one)
	require.Equal(t, []int64{u, u}, r.gpus)
	require.Equal(t, []int64{u, u / 4}, newGPUs(u+u/4), "a fractional count's last device is partial")
}
