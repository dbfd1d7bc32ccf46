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

// MultiFunc is a remote function of several returns (Ray's num_returns) in
// its wire form: encoded arguments in, one encoded value per return out. n
// is the number of returns the task was submitted with (its spec's
// NumReturns); a function that makes another count fails the task, every
// return with the same error, as Ray's does.
type MultiFunc func(ctx context.Context, args []transport.Value, n int) ([]transport.Value, error)

// Method is an actor method in wire form; self is the actor's instance.
type Method func(ctx context.Context, self any, args []transport.Value) (transport.Value, error)

// MultiMethod is an actor method of several returns in wire form, as
// MultiFunc is a function's.
type MultiMethod func(ctx context.Context, self any, args []transport.Value, n int) ([]transport.Value, error)

// ActorType is a registered actor class: a constructor and its methods
// (a method's name is in Methods or in MultiMethods, which may be nil).
type ActorType struct {
	New          func(ctx context.Context, args []transport.Value) (any, error)
	Methods      map[string]Method
	MultiMethods map[string]MultiMethod
}

// Registry is the function table every node of a cluster shares (all nodes
// run the same binary, so functions are found by name).
type Registry interface {
	Func(name string) (Func, bool)
	// MultiFunc finds a function registered with several returns (a name
	// is either a Func or a MultiFunc).
	MultiFunc(name string) (MultiFunc, bool)
	Actor(name string) (*ActorType, bool)
	// Digest identifies the set of names and signatures: nodes whose
	// digests differ refuse to form one cluster.
	Digest() uint64
}
