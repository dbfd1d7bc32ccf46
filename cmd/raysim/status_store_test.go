package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestStatusShowsObjectStore: raysim status shows each node's object
// store (bytes used of its capacity, primary copies) and the cluster's,
// summed over its live nodes, in its table and its JSON, as Ray's `ray
// status` shows object store memory. It showed none: a node holding a
// 1 MiB result looked like an empty one.
func TestStatusShowsObjectStore(t *testing.T) {
	tok := []byte("status-object-store")
	tokFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokFile, append(tok, '\n'), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := ray.NewRegistry()
	big := ray.Register1(reg, "big", func(ctx context.Context, n int) ([]byte, error) { return make([]byte, n), nil })
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok,
		Node: ray.NodeConfig{Name: "head", CPUs: 1, ObjectStoreBytes: 64 << 20}}, reg)
	require.NoError(t, err)
	defer head.Close()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Run(func(ctx context.Context) error {
		_, err := ray.GetTimeout(ctx, big.Remote(ctx, 1<<20), 10*time.Second)
		return err
	}))

	type reply struct {
		Nodes       []statusNode `json:"nodes"`
		ObjectStore storeTotal   `json:"object_store"`
	}
	var st reply
	var headNode statusNode
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out, errb bytes.Buffer
		code := cmdStatus([]string{"--address", head.Addr(), "--token-file", tokFile, "--json"}, &out, &errb)
		require.Equal(t, exitOK, code, "status: %s", errb.String())
		require.NoError(t, json.Unmarshal(out.Bytes(), &st), out.String())
		for _, n := range st.Nodes {
			if n.Name == "head" {
				headNode = n
			}
		}
		if headNode.StoreUsedBytes >= 1<<20 && headNode.StorePrimaries >= 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no store use reported: %+v", st)
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, int64(64<<20), headNode.StoreCapacityBytes)
	require.GreaterOrEqual(t, st.ObjectStore.UsedBytes, headNode.StoreUsedBytes, "the cluster's total counts the head's")
	require.GreaterOrEqual(t, st.ObjectStore.Primaries, headNode.StorePrimaries)
	require.GreaterOrEqual(t, st.ObjectStore.CapacityBytes, int64(64<<20))
	require.Equal(t, 2, st.ObjectStore.Nodes, "the head and the driver")

	var out, errb bytes.Buffer
	require.Equal(t, exitOK, cmdStatus([]string{"--address", head.Addr(), "--token-file", tokFile}, &out, &errb), errb.String())
	t.Logf("\n%s", out.String())
	text := out.String()
	require.Contains(t, text, "OBJECT STORE")
	require.Contains(t, text, "/64 MiB (")
	last := strings.TrimSpace(text[strings.LastIndex(strings.TrimSpace(text), "\n")+1:])
	require.True(t, strings.HasPrefix(last, "object store: "), "the cluster's line last: %q", last)
	require.Contains(t, last, "on 2 live nodes")
}

// TestStoreTextAndSums: a node's store cell and the cluster's sums, dead
// nodes left out, unbounded stores counted apart.
func TestStoreTextAndSums(t *testing.T) {
	nodes := []statusNode{
		{Alive: true, StoreUsedBytes: 1536, StoreCapacityBytes: 1 << 30, StorePrimaries: 1},
		{Alive: true, StoreUsedBytes: 3 << 20, StorePrimaries: 2, SpilledBytes: 5 << 20, SpillCapacityBytes: 1 << 30},
		{Alive: false, StoreUsedBytes: 1 << 30, StoreCapacityBytes: 1 << 30, StorePrimaries: 9},
	}
	require.Equal(t, "1.5 KiB/1 GiB (1 primary)", storeText(nodes[0]))
	require.Equal(t, "3 MiB/unbounded (2 primaries), 5 MiB spilled", storeText(nodes[1]))
	require.Equal(t, "-", storeText(nodes[2]))
	require.Equal(t, storeTotal{UsedBytes: 1536 + 3<<20, CapacityBytes: 1 << 30, Unbounded: 1, Primaries: 3, SpilledBytes: 5 << 20, Nodes: 2}, sumStores(nodes))
}
