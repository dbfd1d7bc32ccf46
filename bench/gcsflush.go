package bench

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"raysim/runtime/ray"
)

// FlushSample is the GCS's table sizes after some tasks have passed.
type FlushSample struct {
	Tasks         int `json:"tasks_done"`
	ResidentTasks int `json:"resident_tasks"`
	FlushedTasks  int `json:"flushed_tasks"`
	Objects       int `json:"objects"`
	Resident      int `json:"resident_entries"`
	// StoreObjects is the node's object store; HeapMiB the process's Go
	// heap in use (simulator, GCS "disk" and all).
	StoreObjects int     `json:"store_objects"`
	HeapMiB      float64 `json:"heap_mib"`
}

// FlushResult is the Ray paper's figure 10b in the simulator: empty tasks
// in sequence (batches), the GCS's resident task table sampled as they pass.
type FlushResult struct {
	Tasks       int           `json:"tasks"`
	Batch       int           `json:"batch"`
	Samples     []FlushSample `json:"samples"`
	MaxResident int           `json:"max_resident_tasks"`
	WallSeconds float64       `json:"wall_seconds"`
	MaxRSSMiB   float64       `json:"max_rss_mib"`
	Command     string        `json:"command"`
}

// RunGCSFlush submits tasks empty tasks from one driver on one node, batch
// at a time, and samples GCS shard 0 after each batch (about 20 samples).
// The driver frees each batch once it has the results, as a Ray driver's
// refs going out of scope would, so the object store stays bounded too.
func RunGCSFlush(ctx context.Context, tasks, batch int) (FlushResult, error) {
	res := FlushResult{Tasks: tasks, Batch: batch, Command: fmt.Sprintf("raysim bench --gcs-flush %d", tasks)}
	s := NewSuite()
	c, err := ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "n0", CPUs: 16}}}, s.Reg)
	if err != nil {
		return res, err
	}
	defer c.Close()
	every := max(tasks/batch/20, 1)
	start := time.Now()
	err = c.Run(func(ctx context.Context) error {
		for done, k := 0, 0; done < tasks; k++ {
			n := min(batch, tasks-done)
			refs := make([]ray.Ref[int], n)
			for j := range refs {
				refs[j] = s.Small.Remote(ctx)
			}
			if _, err := ray.GetAll(ctx, refs, -1); err != nil {
				return err
			}
			if err := ray.Free(ctx, refs...); err != nil {
				return err
			}
			done += n
			if k%every == 0 || done == tasks {
				st := c.Shard(0).Stats()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				res.Samples = append(res.Samples, FlushSample{Tasks: done, ResidentTasks: st.ResidentTasks,
					FlushedTasks: st.FlushedTasks, Objects: st.Objects, Resident: st.Resident,
					StoreObjects: c.Raylet(0).Store().Len(), HeapMiB: float64(ms.HeapInuse) / (1 << 20)})
				res.MaxResident = max(res.MaxResident, st.ResidentTasks)
			}
		}
		return nil
	})
	res.WallSeconds = time.Since(start).Seconds()
	res.MaxRSSMiB = maxRSSMiB()
	return res, err
}

// FormatFlush renders the samples.
func FormatFlush(r FlushResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%12s %15s %14s %10s %17s %13s %9s\n", "tasks done", "resident tasks", "flushed tasks", "objects", "resident entries", "store objects", "heap MiB")
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "%12d %15d %14d %10d %17d %13d %9.0f\n", s.Tasks, s.ResidentTasks, s.FlushedTasks, s.Objects, s.Resident, s.StoreObjects, s.HeapMiB)
	}
	fmt.Fprintf(&b, "max resident tasks %d over %d tasks (wall %.1fs, peak RSS %.0f MiB)\nreproduce: %s\n", r.MaxResident, r.Tasks, r.WallSeconds, r.MaxRSSMiB, r.Command)
	return b.String()
}
