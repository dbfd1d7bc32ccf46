// Package node is the raylet: it wires one node's components — the local
// scheduler, the object store, the worker pool, hosted actors — onto the
// transport seam, and gives user code (drivers, tasks, actor methods) its
// view of the runtime through Caller. Everything here runs on the node's
// loop except user code, which reaches the loop only through Env.Await.
package node

import (
	"context"

	"raysim/runtime/transport"
)

// Func is a remote function in its wire form: encoded arguments in, one
// encoded result out. runtime/ray adapts typed Go functions to it.
type Func func(ctx context.Context, args []transport.Value) (transport.Value, error)

// Method is an actor method in wire form; self is the actor's instance.
type Method func(ctx context.Context, self any, args []transport.Value) (transport.Value, error)

// ActorType is a registered actor class: a constructor and its methods.
type ActorType struct {
	New     func(ctx context.Context, args []transport.Value) (any, error)
	Methods map[string]Method
}

// Registry is the function table every node of a cluster shares (all nodes
// run the same binary, so functions are found by name).
type Registry interface {
	Func(name string) (Func, bool)
	Actor(name string) (*ActorType, bool)
	// Digest identifies the set of names and signatures: nodes whose
	// digests differ refuse to form one cluster.
	Digest() uint64
}
