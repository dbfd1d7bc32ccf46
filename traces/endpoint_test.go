package traces_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"raysim/runtime/ray"
	"raysim/traces"
)

// EndpointName follows ray.Sim's layout: a GCS replica is named after its
// shard and its place in the chain, not after its ID's offset ("gcs-4096").
func TestEndpointNameLayout(t *testing.T) {
	assert.Equal(t, "node-1", traces.EndpointName(ray.RayletID(0)), "by endpoint ID, as analyze and the JSON lines name it")
	assert.Equal(t, "node-8", traces.EndpointName(ray.RayletID(7)))
	assert.Equal(t, "global scheduler", traces.EndpointName(ray.SchedulerID))
	assert.Equal(t, "gcs master", traces.EndpointName(ray.GCSMasterID))
	assert.Equal(t, "gcs-0", traces.EndpointName(ray.ShardID(0)))
	assert.Equal(t, "gcs-3", traces.EndpointName(ray.ShardID(3)))
	assert.Equal(t, "gcs-0", traces.EndpointName(ray.ReplicaID(0, 0)))
	assert.Equal(t, "gcs-0 replica 1", traces.EndpointName(ray.ReplicaID(0, 1)))
	assert.Equal(t, "gcs-2 replica 3", traces.EndpointName(ray.ReplicaID(2, 3)))
	last := ray.ReplicaID(ray.MaxGCSShards-1, ray.MaxGCSReplicas-1)
	assert.Less(t, last, ray.GCSMasterID, "the layout's replicas lie below the master")
	shard, replica, ok := traces.GCSEndpoint(last)
	assert.True(t, ok)
	assert.Equal(t, [2]int{ray.MaxGCSShards - 1, ray.MaxGCSReplicas - 1}, [2]int{shard, replica})
	_, _, ok = traces.GCSEndpoint(ray.GCSMasterID)
	assert.False(t, ok, "the master is no replica")
}
