// Package ray is raysim's public Go API, modelled on Ray's: register remote
// functions and actor classes by name, submit them with Remote to get typed
// references (Ref[T]), and Get, Wait, Put and Cancel them — from a driver or
// from inside a task, on a simulated cluster (netsim, virtual time) or a real
// one over TCP, with the same code.
//
//	reg := ray.NewRegistry()
//	double := ray.Register1(reg, "double", func(ctx context.Context, x int) (int, error) { return 2 * x, nil })
//	c, _ := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{{Name: "head", CPUs: 4}}}, reg)
//	err := c.Run(func(ctx context.Context) error {
//		v, err := ray.Get(ctx, double.Remote(ctx, 21))
//		...
//	})
package ray

import (
	"errors"
	"fmt"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Sentinel errors; Get's errors wrap one of them (errors.Is).
var (
	ErrTaskFailed       = errors.New("ray: task failed")
	ErrCancelled        = node.ErrCancelled
	ErrActorDied        = errors.New("ray: actor died")
	ErrObjectLost       = errors.New("ray: object lost")
	ErrObjectTooLarge   = errors.New("ray: object larger than the object store")
	ErrUnknownFunction  = errors.New("ray: unknown function")
	ErrRetriesExhausted = errors.New("ray: task failed after its retries")
	ErrTimeout          = node.ErrTimeout
	ErrNotInRay         = errors.New("ray: context carries no ray caller (use the ctx given to a driver or task)")
	ErrActorNotFound    = errors.New("ray: no live actor of that name")
	ErrBadWait          = errors.New("ray: wait: bad numReturns or duplicate refs")
	ErrActorNameTaken   = errors.New("ray: the actor name is taken by a live actor")
	// ErrUnschedulable: the task's hard node affinity names a node the
	// cluster does not have, or one that can never run it (Ray's
	// TaskUnschedulableError). A node of the cluster that is dead or not
	// registered yet holds the task instead: it may come back.
	ErrUnschedulable = errors.New("ray: task unschedulable")
)

// TaskError is the error of a failed task as seen by Get: which object, which
// kind of failure (one of the sentinels above) and the message.
type TaskError struct {
	Object transport.ObjectID
	Kind   error
	Msg    string
}

func (e *TaskError) Error() string { return fmt.Sprintf("%v (%s): %s", e.Kind, e.Object, e.Msg) }

// Unwrap lets errors.Is match the kind.
func (e *TaskError) Unwrap() error { return e.Kind }

func kindErr(k uint8) error {
	switch k {
	case transport.ErrKindCancelled:
		return ErrCancelled
	case transport.ErrKindActorDied:
		return ErrActorDied
	case transport.ErrKindObjectLost:
		return ErrObjectLost
	case transport.ErrKindObjectTooLarge:
		return ErrObjectTooLarge
	case transport.ErrKindUnknownFunction:
		return ErrUnknownFunction
	case transport.ErrKindRetriesExhausted:
		return ErrRetriesExhausted
	case transport.ErrKindUnschedulable:
		return ErrUnschedulable
	}
	return ErrTaskFailed
}

func valueErr(id transport.ObjectID, v transport.Value) error {
	if v.ErrKind == transport.ErrKindNone {
		return nil
	}
	return &TaskError{Object: id, Kind: kindErr(v.ErrKind), Msg: string(v.Data)}
}
