package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestReviewStatusMeanTaskFormat: raysim status prints MEAN TASK with
// "%.3gms" (and MEAN PULL with "%.3g MB/s"), which switches to exponent
// notation from 1000 up: a node whose tasks take 1.2 s shows
// "1.2e+03ms" (a pull bandwidth of 1.2 GB/s, common on loopback or 10 GbE,
// "1.2e+03 MB/s"). The column must read as a plain number.
func TestReviewStatusMeanTaskFormat(t *testing.T) {
	tok := []byte("review-status-format")
	tokFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokFile, append(tok, '\n'), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := ray.NewRegistry()
	slow := ray.Register1(reg, "slow", func(ctx context.Context, ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return ms, nil
	})
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer head.Close()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Run(func(ctx context.Context) error {
		_, err := ray.GetTimeout(ctx, slow.Remote(ctx, 1200), 10*time.Second)
		return err
	}))
	// Wait for a heartbeat carrying the measured mean (MEAN TASK not "-").
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out, errb bytes.Buffer
		code := cmdStatus([]string{"--address", head.Addr(), "--token-file", tokFile}, &out, &errb)
		require.Equal(t, exitOK, code, "status: %s", errb.String())
		last = out.String()
		if bytes.Contains(out.Bytes(), []byte("ms ")) || bytes.Contains(out.Bytes(), []byte("e+")) {
			break
		}
		require.True(t, time.Now().Before(deadline), "no MEAN TASK measured:\n%s", last)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("\n%s", last)
	require.NotContains(t, last, "e+", "MEAN TASK in exponent notation")
}
