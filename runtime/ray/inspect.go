package ray

// Read-only views of a simulated cluster, for state dumps (raysim replay
// --until).

// Nodes lists the cluster's node configurations, in index order (node i is
// RayletID(i)).
func (c *Sim) Nodes() []NodeConfig { return c.cfg.Nodes }

// Shards is the number of GCS shards.
func (c *Sim) Shards() int { return c.cfg.GCSShards }
