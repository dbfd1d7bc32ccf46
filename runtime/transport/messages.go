package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is the content of an object: real bytes plus the virtual size they
// stand for. In netsim a "100 MB" object carries a few real bytes (its
// computed value) and Size = 100 MB; stores and links account Size. A
// non-zero ErrKind makes the value an error (Data holds the message).
type Value struct {
	Data    []byte
	Size    int64
	ErrKind uint8
	// Causes, for an error value of user code (ErrKindTask), are the
	// runtime's error kinds the code's error wrapped (it returned, say,
	// the ErrActorDied a Get gave it), so a reader's errors.Is finds them
	// after the hop, as Ray's RayTaskError keeps its cause: bit k is
	// error kind k, and CauseTimeout and CauseOwnerDied stand for the
	// runtime's errors that have no kind (runtime/ray maps them). On the
	// wire behind a flag in the ErrKind byte (errKindCauses): a value
	// without causes is as long as before they existed. In padding: a
	// Value stays 40 bytes.
	Causes uint32
}

// Causes bits for runtime errors that are no value's kind (Value.Causes):
// from bit 14 up (a new error kind must stay below 14). Besides user
// code's errors, the runtime's own error values carry them to say more
// than their kind: a force cancel's ErrKindCancelled (the worker was
// killed), the cancel of a removed placement group's task, an object lost
// with its owner (ErrKindObjectLost).
const (
	CauseTimeout uint32 = 1 << 14 // a Get's timeout (ErrTimeout)
	// CauseOwnerDied: the owner died — a generator's caller
	// (ErrStreamOwnerDied), or, on ErrKindObjectLost, the node of the
	// worker that Put the object, or a task's owner (Ray's
	// OwnerDiedError).
	CauseOwnerDied uint32 = 1 << 15
	// CauseGroupRemoved: a task cancelled because its placement group was
	// removed (Ray's TaskPlacementGroupRemoved), on ErrKindCancelled.
	CauseGroupRemoved uint32 = 1 << 16
	// CauseWorkerCrashed: the task's worker was killed (a force cancel:
	// Ray's WorkerCrashedError), on ErrKindCancelled.
	CauseWorkerCrashed uint32 = 1 << 17
	// CauseUser: the code's error wrapped sentinels its program registered
	// (runtime/ray's RegisterError), whose names follow the error's text
	// in Data, each behind a NUL byte (ErrText cuts them off); the name
	// of a registered error type (RegisterErrorType) is followed by
	// ErrorValueSep and the value's encoding (JSON, without NUL bytes).
	CauseUser uint32 = 1 << 31
)

// ErrorValueSep separates a registered error type's name from its
// value's encoding after an error value's text (CauseUser). Error names
// hold none (CheckErrorName).
const ErrorValueSep = 0x01

// ErrText is an error value's text: its Data, without the names of the
// user errors it carries (CauseUser).
func ErrText(v Value) []byte {
	if v.Causes&CauseUser != 0 {
		if i := bytes.IndexByte(v.Data, 0); i >= 0 {
			return v.Data[:i]
		}
	}
	return v.Data
}

// errKindCauses flags, in an encoded value's ErrKind byte, that its
// Causes follow (a uvarint).
const errKindCauses = 0x80

// appendErrKind appends a value's ErrKind byte, and its Causes behind the
// flag when it has any.
func appendErrKind(b []byte, v *Value) []byte {
	if v.Causes == 0 {
		return append(b, v.ErrKind)
	}
	return binary.AppendUvarint(append(b, v.ErrKind|errKindCauses), uint64(v.Causes))
}

// errKindLen is the length of appendErrKind's encoding.
func errKindLen(v *Value) int {
	if v.Causes == 0 {
		return 1
	}
	return 1 + uvarintLen(uint64(v.Causes))
}

// errKind reads what appendErrKind wrote. Causes come only with an error
// kind.
func (d *Decoder) errKind() (kind uint8, causes uint32) {
	kind = d.U8()
	if kind&errKindCauses == 0 {
		return kind, 0
	}
	kind &^= errKindCauses
	causes = uint32(d.Count(math.MaxUint32, 0))
	if (kind == ErrKindNone || causes == 0) && d.err == nil {
		d.Fail(fmt.Errorf("%w: error causes %#x flagged on error kind %d", ErrInvalid, causes, kind))
	}
	return kind, causes
}

// Error kinds carried by error values; runtime/ray maps them to typed errors.
const (
	ErrKindNone            uint8 = iota
	ErrKindTask                  // user code returned an error or panicked
	ErrKindCancelled             // the task was cancelled
	ErrKindActorDied             // the actor is dead
	ErrKindObjectLost            // every copy is gone and it cannot be rebuilt
	ErrKindObjectTooLarge        // larger than the object store
	ErrKindUnknownFunction       // no function of that name on the executing node
	ErrKindRetriesExhausted
	ErrKindUnschedulable // its hard affinity names a node that does not exist or cannot run it
	ErrKindDecode        // an argument does not decode into its parameter's type
	// ErrKindUnknownConcurrencyGroup: a method call names a concurrency
	// group its actor does not declare.
	ErrKindUnknownConcurrencyGroup
	// ErrKindReplayInconsistent: a generator's item that a re-run of the
	// generator (a retry, a rebuild) did not yield again, yielding fewer
	// items than the run that made it (Ray's
	// StreamingGeneratorReplayInconsistentError).
	ErrKindReplayInconsistent
)

// SizeOf is the accounted size of v.
func (v Value) SizeOf() int64 {
	if v.Size > int64(len(v.Data)) {
		return v.Size
	}
	return int64(len(v.Data))
}

func (e *Encoder) Value(v Value) {
	e.Bytes8(v.Data)
	e.Varint(v.Size)
	e.buf = appendErrKind(e.buf, &v)
}

func (d *Decoder) Value() Value {
	v := Value{Data: d.Bytes8(), Size: d.Varint()}
	v.ErrKind, v.Causes = d.errKind()
	return v
}

// Arg is one task argument: an inline value or a reference to an object.
type Arg struct {
	IsRef bool
	Ref   ObjectID
	Value Value
}

// strategyRebuild, strategyRetryErrors and strategyCapture are the bits
// of a spec's encoded strategy byte that say TaskSpec.Rebuild,
// TaskSpec.RetryExceptions and TaskSpec.CaptureChildTasks.
const (
	strategyRebuild     uint8 = 0x80
	strategyRetryErrors uint8 = 0x40
	strategyCapture     uint8 = 0x20
	// strategyBackpressure says a generator's Backpressure follows the
	// strategy byte (a uvarint): a spec without it is as long as before.
	strategyBackpressure uint8 = 0x10
	// strategyJob says ActorSpec.Job follows (a uvarint, after the
	// backpressure): the task's job is not its owner's (JobNode).
	strategyJob   uint8 = 0x08
	strategyFlags       = strategyRebuild | strategyRetryErrors | strategyCapture | strategyBackpressure | strategyJob
)

// Scheduling strategies of a task (TaskSpec.Strategy).
const (
	StrategyDefault  uint8 = iota
	StrategySpread         // spread over nodes (global pick: round-robin, free resources first, as Ray)
	StrategyNodeSoft       // prefer Target, fall back elsewhere
	StrategyNodeHard       // only Target
)

// TaskSpec is everything needed to run (and re-run) a task; the GCS task
// table stores it as the lineage.
type TaskSpec struct {
	ID         TaskID
	Parent     TaskID
	Func       string // function name (the method name for actor calls)
	Name       string // display name for traces
	Args       []Arg
	NumReturns uint32
	Owner      NodeID // the node whose driver or worker submitted it (beside NumReturns: no padding)
	Resources  Resources
	MaxRetries int32
	Attempt    uint32
	Duration   time.Duration // declared virtual cost, charged before the function runs
	Strategy   uint8
	// Rebuild: a run to rebuild a lost result of a task that finished
	// (lineage reconstruction). A cancel's tombstone does not fail it: the
	// task table said the task was not cancelled, and a cancel that came
	// after the task had finished was a no-op. Encoded in Strategy's byte.
	Rebuild bool
	// RetryExceptions: the task runs again, on the node that ran it, when
	// its code returns an error or panics, while its MaxRetries allow (Ray's
	// retry_exceptions=True); normal tasks only. Encoded in Strategy's
	// byte.
	RetryExceptions bool
	// CaptureChildTasks: the task (or actor) runs in a placement group
	// (its Resources name it) and the tasks and actors its code submits
	// without a scheduling strategy of their own run in that group too,
	// in any bundle, and capture in turn (Ray's
	// placement_group_capture_child_tasks). Encoded in Strategy's byte.
	CaptureChildTasks bool
	Target            NodeID
	// Actor: a creation task has Actor == ID, a method call its actor's ID;
	// 0 for a normal task.
	Actor ActorID
	// Act holds the rest of an actor task's fields; nil for a normal task
	// (most tasks), which keeps a spec at 160 bytes instead of 208. Specs
	// are copied by value and then share Act: read it with A or
	// IsCreation, and change it only through a fresh copy (SetAct).
	Act *ActorSpec
}

// ActorSpec is the part of a TaskSpec only actor tasks have, and the
// rare fields of other tasks (a generator's Backpressure), kept behind
// a pointer so that a spec fits its allocation size class.
type ActorSpec struct {
	// Backpressure (generator tasks and methods; 0: none): the
	// generator's yield blocks once this many items it yielded are not
	// yet taken by the caller (Ray's _generator_backpressure_num_objects);
	// the executor asks the owner (StreamWait), which answers as the
	// caller takes items (StreamConsumed). On the wire behind a flag in
	// the strategy byte, after it: a spec without it is as long as before
	// it existed.
	Backpressure uint32
	// Creation marks an actor's creation task (Actor == ID).
	Creation bool
	// Replay (creation tasks): a restarted actor re-runs the methods it ran
	// since its last checkpoint (or since creation), in their original
	// order, to rebuild its state (the Ray paper's actor reconstruction).
	Replay bool
	// JobSet says the task's job is Job, not its owner's first driver's
	// (see TaskSpec.Job): set on the tasks a task or actor submits from
	// another node than its job's driver, and on every task of a node's
	// later drivers. Job is that driver's job (0: no job, the submissions
	// of a detached actor, which outlive every job). On the wire behind a
	// flag in the strategy byte (a uvarint after it): a spec without it is
	// as long as before it existed.
	JobSet      bool
	Job         JobID
	MaxRestarts int32
	// CheckpointEvery (creation tasks): a checkpointable actor's state is
	// saved to the GCS after every n-th method (0: never).
	CheckpointEvery uint32
	// MaxConcurrency (creation tasks): how many of the actor's methods may
	// run at once (Ray's max_concurrency: a threaded actor); 0 and 1 mean
	// one at a time. At most MaxActorConcurrency, and not with Replay or
	// CheckpointEvery, whose logs assume one method at a time (the decoder
	// refuses such a spec). On the wire behind a flag in Replay's byte: a
	// spec without it is as long as before it existed.
	MaxConcurrency uint32
	// Detached (creation tasks): the actor outlives its owner, the node
	// incarnation whose driver or worker created it (Ray's
	// lifetime="detached"); without it the actor dies with its owner. On
	// the wire as a flag in Replay's byte: a spec without it is as long as
	// before it existed.
	Detached bool
	// ScheduleCPU (creation tasks): the actor was created with no resource
	// option (no CPUs, GPUs nor Resource), Ray's default actor, which
	// needs 1 logical CPU to be scheduled and 0 to run: it is placed only
	// on a node with a CPU free (TaskSpec.Placement), and holds none
	// while it lives (its Resources ask for no CPU). Not set for an actor
	// in a placement group, which runs on its bundle's resources. On the
	// wire as a flag in Replay's byte: a spec without it is as long as
	// before it existed.
	ScheduleCPU bool
	// Extra holds the fields few specs set: a creation's concurrency
	// groups or a method call's group, a creation's call defaults (nil:
	// none, as for most actors and calls; read them with
	// ConcurrencyGroups, ConcurrencyGroup and Calls). Behind a pointer, an
	// ActorSpec stays in its allocation size class (80 bytes, not 112).
	// Copies of a spec share it: it is never edited in place.
	Extra *SpecExtra
	Name  string
	// Caller is a method call's submitting task, Seq its per-(caller,
	// actor) sequence number.
	Caller TaskID
	Seq    uint64
	// SeqBase is the lowest Seq of the caller's calls to this actor not yet
	// known done when the call was sent: a restarted actor starts its
	// per-caller order there.
	SeqBase uint64
}

// A returns the spec's actor fields (all zero for a normal task).
func (s *TaskSpec) A() ActorSpec {
	if s.Act == nil {
		return ActorSpec{}
	}
	return *s.Act
}

// Backpressure is the spec's generator backpressure (ActorSpec; 0: none).
func (s *TaskSpec) Backpressure() uint32 {
	if s.Act == nil {
		return 0
	}
	return s.Act.Backpressure
}

// IsCreation reports whether the spec is an actor's creation task.
func (s *TaskSpec) IsCreation() bool { return s.Act != nil && s.Act.Creation }

// Job is the task's job, as Ray's JobID: the driver whose work it is.
// The job ends when that driver returns (JobEnd) or with its node's
// incarnation (a node's exit, NodeLeaving, or its death), and the
// raylets then cancel the job's tasks (node.Raylet.endJob). The tasks a
// node's first driver submits carry no job of their own (it is their
// owner's, JobOf(Owner, 0)); those a later driver of the node submits,
// and those a task or actor submits on another node, carry theirs
// (ActorSpec.JobSet), and a detached actor's have none (0: never ended).
func (s *TaskSpec) Job() JobID {
	if s.Act != nil && s.Act.JobSet {
		return s.Act.Job
	}
	return JobOf(s.Owner, 0)
}

// JobNode is the node whose driver the task's job belongs to (Job's
// node; 0 for none).
func (s *TaskSpec) JobNode() NodeID { return s.Job().Node() }

// JobID names a job: a driver, as Ray's JobID. The low 32 bits are the
// driver's node, the high 32 the driver's number among those started on
// that node (0 for its first), so a node's first driver's job is the
// node's ID and travels in as few bytes as a node ID does. 0 is no job
// (a detached actor's work, never ended). A driver's number is counted
// by whoever starts drivers on the node (ray.Sim, ray.TCP) across the
// node's incarnations, so a restarted node's drivers get jobs of their
// own.
type JobID uint64

// JobOf is the job of the driver numbered n among those of node.
func JobOf(node NodeID, n uint32) JobID { return JobID(uint64(n)<<32 | uint64(node)) }

// Node is the job's driver's node.
func (j JobID) Node() NodeID { return NodeID(uint32(j)) }

// Driver is the job's driver's number on its node (0: its first).
func (j JobID) Driver() uint32 { return uint32(j >> 32) }

// String says the job in a message: "node 3's driver 2" ("node 3" for
// a node's first driver).
func (j JobID) String() string {
	if j.Driver() == 0 {
		return fmt.Sprintf("node %d", j.Node())
	}
	return fmt.Sprintf("node %d's driver %d", j.Node(), j.Driver())
}

// SetAct changes the spec's actor fields: f edits a fresh copy, which then
// becomes the spec's, so copies of the spec made before keep theirs.
func (s *TaskSpec) SetAct(f func(a *ActorSpec)) {
	a := new(ActorSpec)
	*a = s.A()
	f(a)
	s.Act = a
}

// Placement is what a node must have free for the task to be placed
// there: its Resources, and for an actor created with no resource option
// (ActorSpec.ScheduleCPU) one CPU more, which it does not hold while it
// lives (Ray's default actor: 1 logical CPU to schedule, 0 to run). A
// node with no CPU (a head started with --num-cpus=0) never gets such an
// actor.
func (s *TaskSpec) Placement() Resources {
	if !s.IsCreation() || !s.Act.ScheduleCPU {
		return s.Resources
	}
	p := s.Resources
	p.CPU += Units(1)
	return p
}

// Return is the i-th return object of the task.
func (s *TaskSpec) Return(i uint32) ObjectID { return ObjectID{Task: s.ID, Index: i} }

// InlineBytes is the accounted size of the task's inline arguments.
func (s *TaskSpec) InlineBytes() int64 {
	var n int64
	for _, a := range s.Args {
		if !a.IsRef {
			n += a.Value.SizeOf()
		}
	}
	return n
}

// MaxReturns bounds a task's NumReturns on the wire. A raylet stores (and
// announces) every return of a task it runs, fails or hands back, one by
// one in its loop: a spec claiming four billion returns would hold that
// loop for hours and fill the store. The ray API makes one (none for an
// actor's creation).
const MaxReturns = 1 << 16

// MaxActorConcurrency bounds an actor's MaxConcurrency (ActorSpec): each
// method in flight is a coroutine (netsim) or goroutine (TCP) of its host.
const MaxActorConcurrency = 1 << 16

// SpecExtra is the part of an ActorSpec few specs set: concurrency
// groups (checked by CheckConcurrency), an actor's call defaults and a
// task's errors to retry. On
// the wire each field is behind a flag in Replay's byte (the call
// defaults behind a byte of flags of their own, specMore): a spec without
// them is as long as before they existed.
type SpecExtra struct {
	// Groups (creation tasks): the actor's named concurrency groups (Ray's
	// concurrency_groups), sorted by name, each running at most its Limit
	// of methods at once beside the others; a method call naming none of
	// them runs in the default group, whose limit is MaxConcurrency.
	Groups []ConcurrencyGroup
	// Group (method calls): the group the call runs in ("": the default
	// group).
	Group string
	// Calls (creation tasks): the defaults of every call of the actor's
	// methods its creation set (Ray's max_task_retries and
	// max_pending_calls, which Ray keeps with the actor): the actor table
	// tells them to whoever finds the actor by name, so every handle's
	// calls behave as the creator's.
	Calls CallDefaults
	// RetryOn (tasks with RetryExceptions): the names of the registered
	// user errors (runtime/ray's RegisterError) whose failures are retried,
	// as Ray's retry_exceptions=[ValueError, ...]: a failure whose error
	// value names none of them (CauseUser; NamesError) is final. Empty:
	// every failure of the code is retried. At most MaxRetryOn names, each
	// checked by CheckErrorName.
	RetryOn []string
	// Namespace (normal tasks and creations): the namespace of the job
	// whose code submitted the task, when it is not the job's anonymous
	// one (AnonymousNamespace of TaskSpec.Job): Ray's namespace, set by
	// the driver (ray.init(namespace=...)), in which the task's code,
	// and an actor's, finds and names actors. Checked by CheckNamespace.
	Namespace string
}

// Namespace returns the namespace a task's spec carries ("": its job's
// anonymous one; see SpecExtra.Namespace).
func (a ActorSpec) Namespace() string {
	if a.Extra == nil {
		return ""
	}
	return a.Extra.Namespace
}

// NamespaceOf is the namespace of the code of the task spec: the one it
// carries, or its job's anonymous one.
func NamespaceOf(s *TaskSpec) string {
	if ns := s.A().Namespace(); ns != "" {
		return ns
	}
	return AnonymousNamespace(s.Job())
}

// AnonymousNamespace is the namespace of a job whose driver set none, as
// Ray's anonymous namespace: one of its own, so its named actors are
// found by its own tasks and by no other job unless that names the
// namespace (ray.Namespace tells a program its own).
func AnonymousNamespace(job JobID) string { return fmt.Sprintf("anonymous-%016x", uint64(job)) }

// MaxNamespace bounds a namespace's name in bytes, MaxActorName an
// actor's name within its namespace.
const (
	MaxNamespace = 256
	MaxActorName = 1024
)

// QualifiedName is the name of actor name in namespace ns as the runtime
// carries it (ActorSpec.Name, GcsActorUpdate.Name, GcsLookupActor.Name,
// ActorInfo.Name: the actor table's key, so the same name in two
// namespaces is two actors): the namespace, a NUL byte, the name.
func QualifiedName(ns, name string) string { return ns + "\x00" + name }

// SplitActorName splits a qualified name (QualifiedName) into its
// namespace and name; a name without a namespace is returned whole, with
// no namespace.
func SplitActorName(q string) (ns, name string) {
	if i := strings.IndexByte(q, 0); i >= 0 {
		return q[:i], q[i+1:]
	}
	return "", q
}

// ActorNameOf is the name of a qualified actor name without its
// namespace: what events and texts show.
func ActorNameOf(q string) string { _, name := SplitActorName(q); return name }

// ActorNameText says a qualified actor name in a message: the name,
// quoted, and its namespace.
func ActorNameText(q string) string {
	ns, name := SplitActorName(q)
	if ns == "" {
		return strconv.Quote(name)
	}
	return fmt.Sprintf("%q in namespace %q", name, ns)
}

// CheckNamespace checks a namespace: not empty, no NUL byte (it ends
// where a qualified name's NUL is), at most MaxNamespace bytes. It wraps
// ErrInvalid or ErrTooLarge.
func CheckNamespace(ns string) error {
	switch {
	case ns == "" || strings.IndexByte(ns, 0) >= 0:
		return fmt.Errorf("%w: namespace %q (empty, or with a NUL byte)", ErrInvalid, ns)
	case len(ns) > MaxNamespace:
		return fmt.Errorf("%w: namespace of %d bytes, more than %d", ErrTooLarge, len(ns), MaxNamespace)
	}
	return nil
}

// CheckActorName checks an actor's name as it travels: none (""), or a
// namespace that CheckNamespace accepts, a NUL byte and a name of 1 to
// MaxActorName bytes without a NUL (QualifiedName). A name without a
// namespace (no NUL) of at most MaxActorName bytes passes too: it is a
// key like any other for the actor table, and no program's lookup names
// it. It wraps ErrInvalid or ErrTooLarge.
func CheckActorName(q string) error {
	ns, name := SplitActorName(q)
	if len(q) > len(name) {
		if err := CheckNamespace(ns); err != nil {
			return fmt.Errorf("actor name's %w", err)
		}
		if name == "" || strings.IndexByte(name, 0) >= 0 {
			return fmt.Errorf("%w: actor name %q in namespace %q (empty, or with a NUL byte)", ErrInvalid, name, ns)
		}
	}
	if len(name) > MaxActorName {
		return fmt.Errorf("%w: actor name of %d bytes, more than %d", ErrTooLarge, len(name), MaxActorName)
	}
	return nil
}

// RetryOn returns a task's errors to retry (RetryExceptions for every
// error: none).
func (a ActorSpec) RetryOn() []string {
	if a.Extra == nil {
		return nil
	}
	return a.Extra.RetryOn
}

// Calls returns a creation's call defaults (none: zero).
func (a ActorSpec) Calls() CallDefaults {
	if a.Extra == nil {
		return CallDefaults{}
	}
	return a.Extra.Calls
}

// ConcurrencyGroups returns a creation's concurrency groups (none: nil).
func (a ActorSpec) ConcurrencyGroups() []ConcurrencyGroup {
	if a.Extra == nil {
		return nil
	}
	return a.Extra.Groups
}

// ConcurrencyGroup returns the concurrency group a method call runs in
// ("": the default group).
func (a ActorSpec) ConcurrencyGroup() string {
	if a.Extra == nil {
		return ""
	}
	return a.Extra.Group
}

// ConcurrencyGroup is one of an actor's named concurrency groups
// (SpecExtra.Groups): at most Limit of the methods called in it
// run at once.
type ConcurrencyGroup struct {
	Name  string
	Limit uint32
}

// MaxConcurrencyGroups bounds how many concurrency groups an actor
// declares (SpecExtra.Groups): each is a queue and a count on
// its host, and every call's group is looked up among them.
const MaxConcurrencyGroups = 256

// MaxConcurrencyGroupName bounds a concurrency group's name in bytes (a
// creation's groups, a call's group).
const MaxConcurrencyGroupName = 128

// specGroups is the flag in the byte of ActorSpec.Replay saying a
// creation's concurrency groups follow (SpecExtra.Groups).
const specGroups = 0x08

// specGroup is the flag in the byte of ActorSpec.Replay saying a method
// call's concurrency group follows (SpecExtra.Group).
const specGroup = 0x10

// specConcurrent is the flag in the byte of ActorSpec.Replay saying a
// MaxConcurrency follows.
const specConcurrent = 0x02

// specDetached is the flag in the byte of ActorSpec.Replay saying the
// actor is detached (ActorSpec.Detached).
const specDetached = 0x04

// specReplay is the bit of ActorSpec.Replay in its byte.
const specReplay = 0x01

// specScheduleCPU is the flag in the byte of ActorSpec.Replay saying the
// actor needs a CPU free to be placed (ActorSpec.ScheduleCPU).
const specScheduleCPU = 0x20

// specMore is the flag in the byte of ActorSpec.Replay saying a byte of
// more flags follows, after the call's concurrency group (moreRetries,
// morePending, moreRetryOn, moreNamespace), then the fields they announce. (0x80 is
// free too.)
const specMore = 0x40

// The flags of the byte specMore announces (an actor state's
// actorHasCalls too, without moreRetryOn and moreNamespace): a
// creation's default call retry budget (CallDefaults.Retries) and bound
// on pending calls (CallDefaults.Pending), a task's errors to retry
// (SpecExtra.RetryOn) and its job's namespace (SpecExtra.Namespace),
// follow.
const (
	moreRetries   uint8 = 0x01
	morePending   uint8 = 0x02
	moreRetryOn   uint8 = 0x04
	moreNamespace uint8 = 0x08
	moreFlags           = moreRetries | morePending | moreRetryOn | moreNamespace
)

// MaxRetryOn bounds the errors a task's RetryOn names, and
// MaxErrorName the length of each name in bytes.
const (
	MaxRetryOn   = 64
	MaxErrorName = 256
)

// CallDefaults are what an actor's creation sets for every call of its
// methods, wherever the handle it is called through came from (Ray keeps
// them in the actor's creation spec): Retries is Ray's max_task_retries,
// the retry budget of a call whose method and options set none (-1: no
// bound), when RetriesSet; Pending is Ray's max_pending_calls, the calls
// one caller may have on the actor not finished yet (0: no bound).
type CallDefaults struct {
	Retries    int32
	RetriesSet bool
	Pending    uint32
}

// IsZero reports whether c sets nothing.
func (c CallDefaults) IsZero() bool { return c == CallDefaults{} }

// moreOf returns the flags of the byte specMore announces for c,
// retryOn and ns (a task's SpecExtra.Namespace).
func moreOf(c CallDefaults, retryOn []string, ns string) uint8 {
	var b uint8
	if c.RetriesSet {
		b |= moreRetries
	}
	if c.Pending != 0 {
		b |= morePending
	}
	if len(retryOn) > 0 {
		b |= moreRetryOn
	}
	if ns != "" {
		b |= moreNamespace
	}
	return b
}

// appendMore appends the flags byte of c, retryOn and ns and the fields
// it announces (nothing when they are all zero).
func appendMore(b []byte, c CallDefaults, retryOn []string, ns string) []byte {
	f := moreOf(c, retryOn, ns)
	if f == 0 {
		return b
	}
	b = append(b, f)
	if c.RetriesSet {
		b = binary.AppendVarint(b, int64(c.Retries))
	}
	if c.Pending != 0 {
		b = binary.AppendUvarint(b, uint64(c.Pending))
	}
	if len(retryOn) > 0 {
		b = binary.AppendUvarint(b, uint64(len(retryOn)))
		for _, name := range retryOn {
			b = appendString(b, name)
		}
	}
	if ns != "" {
		b = appendString(b, ns)
	}
	return b
}

// moreLen is the length of appendMore's bytes.
func moreLen(c CallDefaults, retryOn []string, ns string) int {
	if moreOf(c, retryOn, ns) == 0 {
		return 0
	}
	n := 1
	if c.RetriesSet {
		n += varintLen(int64(c.Retries))
	}
	if c.Pending != 0 {
		n += uvarintLen(uint64(c.Pending))
	}
	if len(retryOn) > 0 {
		n += uvarintLen(uint64(len(retryOn)))
		for _, name := range retryOn {
			n += stringLen(name)
		}
	}
	if ns != "" {
		n += stringLen(ns)
	}
	return n
}

// more decodes what appendMore wrote (not nothing), allowing the flags
// in allowed: a flags byte, then a retry budget of -1 or more within
// int32, a bound of 1 or more within int32, up to MaxRetryOn error
// names (CheckErrorName) and a namespace (CheckNamespace).
func (d *Decoder) more(allowed uint8) (c CallDefaults, retryOn []string, ns string) {
	b := d.U8()
	if (b == 0 || b&^allowed != 0) && d.err == nil {
		d.Fail(fmt.Errorf("%w: spec flags %#x after specMore", ErrInvalid, b))
	}
	if b&moreRetries != 0 {
		r := d.Varint()
		if (r < -1 || r > math.MaxInt32) && d.err == nil {
			d.Fail(fmt.Errorf("%w: an actor's call retries of %d", ErrInvalid, r))
		}
		c.Retries, c.RetriesSet = int32(r), true
	}
	if b&morePending != 0 {
		c.Pending = uint32(d.Count(math.MaxInt32, 0))
		if c.Pending == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: an actor's pending calls bound flagged but 0", ErrInvalid))
		}
	}
	if b&moreRetryOn != 0 {
		n := d.Count(MaxRetryOn, 2) // a name is at least its length and a byte
		if n == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: errors to retry flagged but none", ErrInvalid))
		}
		if d.err == nil {
			retryOn = make([]string, n)
			for i := range retryOn {
				retryOn[i] = d.String()
				if err := CheckErrorName(retryOn[i]); err != nil && d.err == nil {
					d.Fail(err)
				}
			}
		}
	}
	if b&moreNamespace != 0 {
		ns = d.String()
		if err := CheckNamespace(ns); err != nil && d.err == nil {
			d.Fail(err)
		}
	}
	return c, retryOn, ns
}

// CheckErrorName checks the name of a registered error a task's RetryOn
// names: not empty, no NUL byte (an error value's names are separated by
// NULs) nor ErrorValueSep (which ends a name its value follows), at
// most MaxErrorName bytes. It wraps ErrInvalid or ErrTooLarge.
func CheckErrorName(name string) error {
	switch {
	case name == "" || strings.IndexByte(name, 0) >= 0 || strings.IndexByte(name, ErrorValueSep) >= 0:
		return fmt.Errorf("%w: error name %q (empty, or with a NUL or \\x01 byte)", ErrInvalid, name)
	case len(name) > MaxErrorName:
		return fmt.Errorf("%w: error name of %d bytes, more than %d", ErrTooLarge, len(name), MaxErrorName)
	}
	return nil
}

// NamesError reports whether the error value v carries the registered
// user error name (CauseUser: the names after its text, each behind a
// NUL byte).
func NamesError(v Value, name string) bool {
	if v.Causes&CauseUser == 0 {
		return false
	}
	names := v.Data[len(ErrText(v)):]
	for len(names) > 0 {
		names = names[1:] // the NUL before each name
		n := names
		if i := bytes.IndexByte(names, 0); i >= 0 {
			n = names[:i]
		}
		names = names[len(n):]
		if i := bytes.IndexByte(n, ErrorValueSep); i >= 0 {
			n = n[:i] // a registered type's value follows
		}
		if string(n) == name {
			return true
		}
	}
	return false
}

// CheckConcurrency checks an actor's MaxConcurrency and concurrency
// groups against its other creation options: a threaded actor (more than
// one method at a time) and an actor with concurrency groups (whose
// groups' methods run beside each other) cannot checkpoint or log their
// methods for replay, whose counts and order assume one method at a time.
// Groups are a creation's only, sorted by name without repeats, named (at
// most MaxConcurrencyGroupName bytes), at most MaxConcurrencyGroups, each
// with a limit of 1 or more, and all the actor's groups with the default
// one (MaxConcurrency) run at most MaxActorConcurrency methods at once; a
// call's group is a method call's only, named as a group is. It wraps
// ErrInvalid or ErrTooLarge.
func CheckConcurrency(a ActorSpec) error {
	switch {
	case a.MaxConcurrency > MaxActorConcurrency:
		return fmt.Errorf("%w: actor max concurrency %d above %d", ErrTooLarge, a.MaxConcurrency, MaxActorConcurrency)
	case a.MaxConcurrency > 1 && (a.Replay || a.CheckpointEvery > 0):
		return fmt.Errorf("%w: actor max concurrency %d with method replay or checkpoints (they assume one method at a time)", ErrInvalid, a.MaxConcurrency)
	}
	if call := a.ConcurrencyGroup(); call != "" {
		if a.Creation {
			return fmt.Errorf("%w: an actor's creation names a concurrency group to run in (%q): a method call's option", ErrInvalid, call)
		}
		if err := CheckGroupName(call); err != nil {
			return err
		}
	}
	gs := a.ConcurrencyGroups()
	if len(gs) == 0 {
		return nil
	}
	switch {
	case !a.Creation:
		return fmt.Errorf("%w: concurrency groups on a method call (an actor's creation declares them)", ErrInvalid)
	case len(gs) > MaxConcurrencyGroups:
		return fmt.Errorf("%w: %d concurrency groups, more than %d", ErrTooLarge, len(gs), MaxConcurrencyGroups)
	case a.Replay || a.CheckpointEvery > 0:
		return fmt.Errorf("%w: concurrency groups with method replay or checkpoints (they assume one method at a time)", ErrInvalid)
	}
	total := uint64(max(1, a.MaxConcurrency)) // the default group's
	for i, g := range gs {
		if err := CheckGroupName(g.Name); err != nil {
			return err
		}
		if i > 0 && gs[i-1].Name >= g.Name {
			return fmt.Errorf("%w: concurrency groups not sorted by name without repeats (%q after %q)", ErrInvalid, g.Name, gs[i-1].Name)
		}
		if g.Limit == 0 {
			return fmt.Errorf("%w: concurrency group %q with a limit of 0", ErrInvalid, g.Name)
		}
		total += uint64(g.Limit)
	}
	if total > MaxActorConcurrency {
		return fmt.Errorf("%w: concurrency groups' limits and max concurrency add up to %d, more than %d methods at once", ErrTooLarge, total, MaxActorConcurrency)
	}
	return nil
}

// CheckGroupName checks a concurrency group's name: not empty (the
// default group has none) and at most MaxConcurrencyGroupName bytes. It
// wraps ErrInvalid or ErrTooLarge.
func CheckGroupName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: a concurrency group with an empty name", ErrInvalid)
	case len(name) > MaxConcurrencyGroupName:
		return fmt.Errorf("%w: concurrency group name of %d bytes, more than %d", ErrTooLarge, len(name), MaxConcurrencyGroupName)
	}
	return nil
}

// isZero reports whether a holds no field (a normal task's).
func (a *ActorSpec) isZero() bool {
	return !a.Creation && !a.Replay && a.MaxRestarts == 0 && a.CheckpointEvery == 0 && a.MaxConcurrency == 0 &&
		!a.Detached && !a.ScheduleCPU && a.Extra == nil && a.Name == "" &&
		a.Caller == 0 && a.Seq == 0 && a.SeqBase == 0 && a.Backpressure == 0 && !a.JobSet && a.Job == 0
}

func (e *Encoder) Spec(s *TaskSpec) {
	// One local slice, stored back once: every append through e.buf wrote
	// the slice back and read it again (a spec is encoded twice per task,
	// for the wire or the link's charge and for the GCS's store).
	// TestSpecEncodingUnchanged holds the bytes to the field-by-field form.
	b := e.buf
	b = binary.LittleEndian.AppendUint64(b, uint64(s.ID))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.Parent))
	b = binary.AppendUvarint(b, uint64(s.Owner))
	b = appendString(b, s.Func)
	b = appendString(b, s.Name)
	b = binary.AppendUvarint(b, uint64(len(s.Args)))
	for i := range s.Args {
		a := &s.Args[i]
		b = append(b, b2u(a.IsRef))
		if a.IsRef {
			b = AppendObject(b, a.Ref)
		} else {
			b = binary.AppendUvarint(b, uint64(len(a.Value.Data)))
			b = append(b, a.Value.Data...)
			b = binary.AppendVarint(b, a.Value.Size)
			b = appendErrKind(b, &a.Value)
		}
	}
	b = binary.AppendUvarint(b, uint64(s.NumReturns))
	b = appendResources(b, s.Resources)
	b = binary.AppendVarint(b, int64(s.MaxRetries))
	b = binary.AppendUvarint(b, uint64(s.Attempt))
	b = binary.AppendVarint(b, int64(s.Duration))
	f := s.Strategy
	if s.Rebuild {
		f |= strategyRebuild
	}
	if s.RetryExceptions {
		f |= strategyRetryErrors
	}
	if s.CaptureChildTasks {
		f |= strategyCapture
	}
	bp := s.Backpressure()
	if bp != 0 {
		f |= strategyBackpressure
	}
	jobSet := s.Act != nil && s.Act.JobSet
	if jobSet {
		f |= strategyJob
	}
	b = append(b, f)
	if bp != 0 {
		b = binary.AppendUvarint(b, uint64(bp))
	}
	if jobSet {
		b = binary.AppendUvarint(b, uint64(s.Act.Job))
	}
	b = binary.AppendUvarint(b, uint64(s.Target))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.Actor))
	a := s.Act
	if a == nil {
		// A zero ActorSpec: Creation, MaxRestarts, the name's length,
		// CheckpointEvery and the replay byte, then Caller, Seq and SeqBase.
		e.buf = append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		return
	}
	b = append(b, b2u(a.Creation))
	b = binary.AppendVarint(b, int64(a.MaxRestarts))
	b = appendString(b, a.Name)
	b = binary.AppendUvarint(b, uint64(a.CheckpointEvery))
	rb := b2u(a.Replay)
	if a.MaxConcurrency != 0 {
		rb |= specConcurrent
	}
	if a.Detached {
		rb |= specDetached
	}
	if a.ScheduleCPU {
		rb |= specScheduleCPU
	}
	gs, call := a.ConcurrencyGroups(), a.ConcurrencyGroup()
	if len(gs) > 0 {
		rb |= specGroups
	}
	if call != "" {
		rb |= specGroup
	}
	calls, retryOn, ns := a.Calls(), a.RetryOn(), a.Namespace()
	if moreOf(calls, retryOn, ns) != 0 {
		rb |= specMore
	}
	b = append(b, rb)
	if a.MaxConcurrency != 0 {
		b = binary.AppendUvarint(b, uint64(a.MaxConcurrency))
	}
	if len(gs) > 0 {
		b = binary.AppendUvarint(b, uint64(len(gs)))
		for _, g := range gs {
			b = appendString(b, g.Name)
			b = binary.AppendUvarint(b, uint64(g.Limit))
		}
	}
	if call != "" {
		b = appendString(b, call)
	}
	b = appendMore(b, calls, retryOn, ns)
	b = binary.LittleEndian.AppendUint64(b, uint64(a.Caller))
	b = binary.AppendUvarint(b, a.Seq)
	e.buf = binary.AppendUvarint(b, a.SeqBase)
}

// SpecSize is len of s's encoding (Encoder.Spec), counted without writing
// it: GcsAddTasks.Add measures every spec a raylet submits for netsim's
// bandwidth charge, and counting the bytes costs a fraction of encoding
// them (an encoding was ~550 instructions a spec, ~4% of the simulator's
// 100-node run). TestSpecSizeMatchesEncoding holds the two together.
func SpecSize(s *TaskSpec) int {
	n := 8 + 8 + uvarintLen(uint64(s.Owner)) // ID, Parent, Owner
	n += stringLen(s.Func) + stringLen(s.Name)
	n += uvarintLen(uint64(len(s.Args)))
	for i := range s.Args {
		a := &s.Args[i]
		n++ // IsRef
		if a.IsRef {
			n += 8 + uvarintLen(uint64(a.Ref.Index)<<1|uint64(b2u(a.Ref.Put)))
		} else {
			n += uvarintLen(uint64(len(a.Value.Data))) + len(a.Value.Data) + varintLen(a.Value.Size) + errKindLen(&a.Value)
		}
	}
	n += uvarintLen(uint64(s.NumReturns))
	n += varintLen(s.Resources.CPU) + varintLen(s.Resources.GPU) + uvarintLen(uint64(len(s.Resources.Custom)))
	for _, q := range s.Resources.Custom {
		n += stringLen(q.Name) + varintLen(q.Amount)
	}
	n += varintLen(int64(s.MaxRetries)) + uvarintLen(uint64(s.Attempt)) + varintLen(int64(s.Duration))
	n += 1 + uvarintLen(uint64(s.Target)) + 8 // strategy byte, Target, Actor
	if s.Act != nil && s.Act.JobSet {
		n += uvarintLen(uint64(s.Act.Job))
	}
	if bp := s.Backpressure(); bp != 0 {
		n += uvarintLen(uint64(bp))
	}
	if s.Act == nil { // a zero ActorSpec: every varint and the name's length one byte
		return n + 1 + 1 + 1 + 1 + 1 + 8 + 1 + 1
	}
	a := s.Act
	n += 1 + varintLen(int64(a.MaxRestarts)) + stringLen(a.Name) + uvarintLen(uint64(a.CheckpointEvery)) + 1
	if a.MaxConcurrency != 0 {
		n += uvarintLen(uint64(a.MaxConcurrency))
	}
	if gs := a.ConcurrencyGroups(); len(gs) > 0 {
		n += uvarintLen(uint64(len(gs)))
		for _, g := range gs {
			n += stringLen(g.Name) + uvarintLen(uint64(g.Limit))
		}
	}
	if call := a.ConcurrencyGroup(); call != "" {
		n += stringLen(call)
	}
	n += moreLen(a.Calls(), a.RetryOn(), a.Namespace())
	return n + 8 + uvarintLen(a.Seq) + uvarintLen(a.SeqBase)
}

// stringLen is the length of s's encoding (Encoder.String).
func stringLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

// varintLen is the length of v's encoding (Encoder.Varint: zig-zag, then
// as a uvarint).
func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

func (d *Decoder) Spec(s *TaskSpec) {
	s.ID = d.Task()
	s.Parent = d.Task()
	s.Owner = d.Node()
	s.Func = d.String()
	s.Name = d.String()
	if n := d.Count(MaxCount, minArgBytes); n > 0 {
		s.Args = make([]Arg, n)
		for i := range s.Args {
			a := &s.Args[i]
			a.IsRef = d.Bool()
			if a.IsRef {
				a.Ref = d.Object()
			} else {
				a.Value = d.Value()
			}
		}
	}
	s.NumReturns = uint32(d.Count(MaxReturns, 0))
	s.Resources = d.ResourcesNonNeg()
	s.MaxRetries = int32(d.Varint())
	s.Attempt = uint32(d.Count(1<<32-1, 0))
	s.Duration = d.Duration()
	b := d.U8()
	s.Strategy, s.Rebuild, s.RetryExceptions = b&^strategyFlags, b&strategyRebuild != 0, b&strategyRetryErrors != 0 // strategyBackpressure: below
	s.CaptureChildTasks = b&strategyCapture != 0
	var a ActorSpec
	if b&strategyBackpressure != 0 {
		a.Backpressure = uint32(d.Count(1<<32-1, 0))
		if a.Backpressure == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: generator backpressure flagged but 0", ErrInvalid))
		}
	}
	if b&strategyJob != 0 {
		a.JobSet, a.Job = true, JobID(d.Uvarint())
	}
	s.Target = d.Node()
	s.Actor = d.Task()
	a.Creation = d.Bool()
	a.MaxRestarts = int32(d.Varint())
	a.Name = d.actorName()
	a.CheckpointEvery = uint32(d.Count(1<<32-1, 0))
	rb := d.U8()
	a.Replay, a.Detached, a.ScheduleCPU = rb&specReplay != 0, rb&specDetached != 0, rb&specScheduleCPU != 0
	if rb&^(specReplay|specConcurrent|specDetached|specGroups|specGroup|specScheduleCPU|specMore) != 0 && d.err == nil {
		d.Fail(fmt.Errorf("%w: actor spec flags %#x", ErrInvalid, rb))
	}
	if rb&specConcurrent != 0 {
		a.MaxConcurrency = uint32(d.Count(MaxActorConcurrency, 0))
		if a.MaxConcurrency == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: actor max concurrency flagged but 0", ErrInvalid))
		}
	}
	if rb&(specGroups|specGroup|specMore) != 0 {
		a.Extra = d.extra(rb)
		if rb&specMore != 0 {
			a.Extra.Calls, a.Extra.RetryOn, a.Extra.Namespace = d.more(moreFlags)
			if len(a.Extra.RetryOn) > 0 && !s.RetryExceptions && d.err == nil {
				d.Fail(fmt.Errorf("%w: errors to retry on a spec without RetryExceptions", ErrInvalid))
			}
		}
	}
	if err := CheckConcurrency(a); err != nil && d.err == nil {
		d.Fail(err)
	}
	a.Caller = d.Task()
	a.Seq = d.Uvarint()
	a.SeqBase = d.Uvarint()
	s.Act = nil
	if !a.isZero() { // a normal task's: no allocation
		s.Act = new(ActorSpec)
		*s.Act = a
	}
}

// actorName reads an actor's name and checks it (CheckActorName).
func (d *Decoder) actorName() string {
	q := d.String()
	if err := CheckActorName(q); err != nil && d.err == nil {
		d.Fail(err)
	}
	return q
}

// extra reads the part of a spec's SpecExtra before its call defaults:
// its concurrency groups or call group, as the flags of its Replay byte
// (rb) say they follow.
func (d *Decoder) extra(rb uint8) *SpecExtra {
	c := new(SpecExtra)
	if rb&specGroups != 0 {
		// A group is at least its name's length, a byte of name and a
		// limit: the count is bounded before anything is allocated.
		n := d.Count(MaxConcurrencyGroups, 3)
		if n == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: actor concurrency groups flagged but none", ErrInvalid))
		}
		if n > 0 && d.err == nil {
			c.Groups = make([]ConcurrencyGroup, n)
			for i := range c.Groups {
				g := &c.Groups[i]
				g.Name = d.String()
				g.Limit = uint32(d.Count(MaxActorConcurrency, 0))
			}
		}
	}
	if rb&specGroup != 0 {
		c.Group = d.String()
		if c.Group == "" && d.err == nil {
			d.Fail(fmt.Errorf("%w: a call's concurrency group flagged but empty", ErrInvalid))
		}
	}
	return c
}

// ObjectLoc tells where copies of an object are, as far as the sender knows.
type ObjectLoc struct {
	Object ObjectID
	Size   int64
	Nodes  []NodeID
}

func (e *Encoder) Nodes(ns []NodeID) {
	e.Uvarint(uint64(len(ns)))
	for _, n := range ns {
		e.Node(n)
	}
}

// Objects encodes a list of object IDs.
func (e *Encoder) Objects(ids []ObjectID) {
	e.Uvarint(uint64(len(ids)))
	for _, id := range ids {
		e.Object(id)
	}
}

func (d *Decoder) Objects() []ObjectID {
	n := d.Count(MaxCount, 9)
	if n == 0 {
		return nil
	}
	ids := make([]ObjectID, n)
	for i := range ids {
		ids[i] = d.Object()
	}
	return ids
}

func (d *Decoder) Nodes() []NodeID {
	n := d.Count(MaxCount, 1)
	if n == 0 {
		return nil
	}
	ns := make([]NodeID, n)
	for i := range ns {
		ns[i] = d.Node()
	}
	return ns
}

// Message kinds of the runtime (1..15 are the transport's own).
const (
	KindSpillTask Kind = 16 + iota
	KindPlaceTask
	KindGcsAddTask
	KindGcsAddObject
	KindGcsRemoveObject
	KindGcsSubscribeObject
	KindObjectLocated
	KindPullRequest
	KindObjectChunk
	KindPullFailed
	KindHeartbeat
	KindRegisterNode
	KindGcsActorUpdate
	KindGcsLookupActor
	KindActorInfo
	KindActorCall
	KindCancelTask
	KindKillActor
	KindNodeDead
	KindTaskPlaced
	KindTaskDone
	KindObjectLost
	KindGcsGetTask
	KindTaskInfo
	KindGcsActorCheckpoint
	KindGcsGetActorCheckpoint
	KindActorCheckpoint
	KindGcsActorMethod
	KindGcsFreeObjects
	KindFreeObjects
	KindGcsAddTasks
	KindCallBounced
	KindGcsCreationLost
	KindCreationLost
	KindGcsAddObjects
	KindGcsTaskFailed
	KindCallsDone
	KindHeartbeatAck
	KindActorWritten
	KindNodeLeaving
	KindStreamWait
	KindStreamConsumed
	KindStreamEnded
	KindGcsRebuild
	KindGcsTaskRerun
	KindClusterRoom
	KindRespillTask
	KindObjectOrphaned
	KindGcsAdoptRun
	KindJobEnd
	KindPutOwnerLost
	KindTaskInfeasible
	KindGcsObjectsGone
	KindObjectJobEnded
	KindOpenCalls
)

// GcsActorCheckpoint saves an actor's state (its Checkpoint bytes) in the
// actor table; Calls counts the methods it reflects.
type GcsActorCheckpoint struct {
	Actor ActorID
	Calls uint64
	Data  []byte
	// Incarnation is the sender's (the host's): the actor table refuses a
	// write from an incarnation it knows dead, and answers the others with
	// ActorWritten. The host publishes a method's result only once the
	// write made after it is answered, so a call whose write was refused
	// (a zombie's, whose instance was restarted meanwhile) fails to its
	// caller, and one whose result was read is in the actor's state.
	Incarnation uint64
	Attempt     uint32 // the writing instance's creation attempt, echoed in ActorWritten
}

// NodeLeaving is a raylet's goodbye to the node table: its process is
// going away on purpose (a driver's session ends, a node is stopped), so
// the node table declares the incarnation dead at once instead of after
// NodeTimeout of silence, and its actors' owners, callers and waiting
// readers learn of it then (a driver's non-detached actors end with it, as
// Ray's end with their job). Taken only from the node itself.
type NodeLeaving struct {
	Node        NodeID
	Incarnation uint64
}

// JobEnd says a driver returned, and with it its job ended (Ray's job
// finishing as its driver exits): its node sends it to every other
// raylet and to the global scheduler, which end what they hold of the
// job (its tasks are cancelled, its actors that are not detached are
// killed, its held tasks handed back) and refuse what of it comes later.
// Taken only from the job's node. A node's death ends all its drivers'
// jobs without it (NodeDead).
type JobEnd struct {
	Job JobID
}

func (*JobEnd) Kind() Kind { return KindJobEnd }
func (m *JobEnd) MarshalWire(e *Encoder) {
	e.Uvarint(uint64(m.Job))
}
func (m *JobEnd) UnmarshalWire(d *Decoder) {
	m.Job = JobID(d.Uvarint())
}

// ActorWritten answers an actor's checkpoint or method-log write: the
// actor table holds the actor's state through its Calls-th method (that
// write, or a later checkpoint covering it).
type ActorWritten struct {
	Actor ActorID
	Calls uint64
	// Attempt echoes the write's: which instance of the actor (its
	// creation attempt) wrote it. A later instance numbers its calls from
	// the restored state, so a count alone may be another instance's.
	Attempt uint32
}

// GcsActorMethod logs the method an actor ran as its Calls-th (actors
// created with Replay): the GCS keeps the methods since the last
// checkpoint, for a restarted actor to re-run.
type GcsActorMethod struct {
	Actor       ActorID
	Calls       uint64
	Spec        TaskSpec
	Incarnation uint64 // the sender's: see GcsActorCheckpoint
	Attempt     uint32 // the writing instance's creation attempt, echoed in ActorWritten
}

// GcsGetActorCheckpoint asks for an actor's last checkpoint (a restarted
// actor restores it).
type GcsGetActorCheckpoint struct{ Actor ActorID }

// ActorCheckpoint answers GcsGetActorCheckpoint (Found false: none saved).
type ActorCheckpoint struct {
	Actor ActorID
	Found bool
	Calls uint64
	Data  []byte
	// Log: the methods the actor ran after the checkpoint (or since its
	// creation, when none was Found), in order (actors created with Replay).
	Log []TaskSpec
}

// GcsFreeObjects: the owner is done with these objects (ray.Free). The GCS
// forgets their copies and tells every node holding one to drop it
// (FreeObjects). Each entry stays in the object table, created, with no
// copy: a later reader rebuilds the object from lineage, as a lost one.
type GcsFreeObjects struct{ Objects []ObjectID }

// FreeObjects tells a raylet to drop its copies of objects their owner
// freed; a copy a task still reads goes when the task is done with it.
type FreeObjects struct{ Objects []ObjectID }

// GcsObjectsGone: the job these objects were made for ended (its driver
// returned, or its driver's node left or was declared dead), and with it
// their owner, as Ray's objects go with the worker that owns them. A
// raylet sends it for the objects whose primary copies it made for the
// job (a result of the job's task run there, a Put of its driver or
// tasks there). The GCS forgets their copies and tells every node
// holding one to drop it (FreeObjects), as for a free, and marks each
// entry gone for good: a reader is answered ObjectJobEnded, never sent
// to rebuild the object from lineage, and a copy announced later is
// dropped.
type GcsObjectsGone struct{ Objects []ObjectID }

// ObjectJobEnded: the object went with the end of the job it was made
// for (GcsObjectsGone): its reader's error says the owner died (Ray's
// OwnerDiedError), and it is not rebuilt.
type ObjectJobEnded struct{ Object ObjectID }

func (*GcsObjectsGone) Kind() Kind                 { return KindGcsObjectsGone }
func (*ObjectJobEnded) Kind() Kind                 { return KindObjectJobEnded }
func (m *GcsObjectsGone) MarshalWire(e *Encoder)   { e.Objects(m.Objects) }
func (m *GcsObjectsGone) UnmarshalWire(d *Decoder) { m.Objects = d.Objects() }
func (m *ObjectJobEnded) MarshalWire(e *Encoder)   { e.Object(m.Object) }
func (m *ObjectJobEnded) UnmarshalWire(d *Decoder) { m.Object = d.Object() }

func (*GcsFreeObjects) Kind() Kind { return KindGcsFreeObjects }
func (*FreeObjects) Kind() Kind    { return KindFreeObjects }

func (m *GcsFreeObjects) MarshalWire(e *Encoder)   { e.Objects(m.Objects) }
func (m *GcsFreeObjects) UnmarshalWire(d *Decoder) { m.Objects = d.Objects() }
func (m *FreeObjects) MarshalWire(e *Encoder)      { e.Objects(m.Objects) }
func (m *FreeObjects) UnmarshalWire(d *Decoder)    { m.Objects = d.Objects() }

func (*GcsActorCheckpoint) Kind() Kind    { return KindGcsActorCheckpoint }
func (*GcsGetActorCheckpoint) Kind() Kind { return KindGcsGetActorCheckpoint }
func (*ActorCheckpoint) Kind() Kind       { return KindActorCheckpoint }
func (*GcsActorMethod) Kind() Kind        { return KindGcsActorMethod }

func (m *GcsActorMethod) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Uvarint(m.Calls)
	e.Spec(&m.Spec)
	e.Uvarint(m.Incarnation)
	e.Uvarint(uint64(m.Attempt))
}
func (m *GcsActorMethod) UnmarshalWire(d *Decoder) {
	m.Actor, m.Calls = d.Task(), d.Uvarint()
	d.Spec(&m.Spec)
	m.Incarnation = d.Uvarint()
	m.Attempt = uint32(d.Count(1<<32-1, 0))
}

func (m *GcsActorCheckpoint) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Uvarint(m.Calls)
	e.Bytes8(m.Data)
	e.Uvarint(m.Incarnation)
	e.Uvarint(uint64(m.Attempt))
}
func (m *GcsActorCheckpoint) UnmarshalWire(d *Decoder) {
	m.Actor, m.Calls, m.Data, m.Incarnation = d.Task(), d.Uvarint(), d.Bytes8(), d.Uvarint()
	m.Attempt = uint32(d.Count(1<<32-1, 0))
}
func (*NodeLeaving) Kind() Kind { return KindNodeLeaving }
func (m *NodeLeaving) MarshalWire(e *Encoder) {
	e.Node(m.Node)
	e.U64(m.Incarnation)
}
func (m *NodeLeaving) UnmarshalWire(d *Decoder) {
	m.Node = d.Node()
	m.Incarnation = d.U64()
}

func (*ActorWritten) Kind() Kind { return KindActorWritten }
func (m *ActorWritten) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Uvarint(m.Calls)
	e.Uvarint(uint64(m.Attempt))
}
func (m *ActorWritten) UnmarshalWire(d *Decoder) {
	m.Actor, m.Calls, m.Attempt = d.Task(), d.Uvarint(), uint32(d.Count(1<<32-1, 0))
}
func (m *GcsGetActorCheckpoint) MarshalWire(e *Encoder)   { e.Task(m.Actor) }
func (m *GcsGetActorCheckpoint) UnmarshalWire(d *Decoder) { m.Actor = d.Task() }
func (m *ActorCheckpoint) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Bool(m.Found)
	e.Uvarint(m.Calls)
	e.Bytes8(m.Data)
	e.Uvarint(uint64(len(m.Log)))
	for i := range m.Log {
		e.Spec(&m.Log[i])
	}
}
func (m *ActorCheckpoint) UnmarshalWire(d *Decoder) {
	m.Actor, m.Found, m.Calls, m.Data = d.Task(), d.Bool(), d.Uvarint(), d.Bytes8()
	if n := d.Count(MaxCount, minSpecBytes); n > 0 {
		m.Log = make([]TaskSpec, n)
		for i := range m.Log {
			d.Spec(&m.Log[i])
		}
	}
}

// NodeDead is the GCS's publication that an incarnation of a node is dead.
type NodeDead struct {
	Node        NodeID
	Incarnation uint64
	// Beats, on a replicated GCS's own verdict (proposed through its
	// chain), is one more than the number of the node's heartbeats the
	// proposer had applied: a replica that has applied more by then holds
	// a stale verdict (the node was heard from while it crossed the chain)
	// and ignores it. 0: no check (every other NodeDead). Below 2^62.
	Beats uint64
	// JobsEnd: the incarnation was not replaced by a newer one that
	// registered — its heartbeats were missed, or it said goodbye — so
	// the jobs of the drivers it ran end with it (TaskSpec.JobNode): at
	// once when it Left (NodeLeaving), else once a raylet has heard
	// nothing newer of the node for a node timeout (a node cut off, not
	// dead, rejoins meanwhile). On the wire as the low two bits of
	// Beats' uvarint (Beats is 0 wherever they are set): such a message
	// is as long as before they existed.
	JobsEnd, Left bool
}

// TaskPlaced tells a task's owner where the global scheduler sent it.
type TaskPlaced struct {
	Task        TaskID
	Node        NodeID
	Incarnation uint64 // of Node, as the scheduler knew it
	// Attempt and Rebuild are the placed spec's: they name which
	// submission of the task this placement is, so an owner ignores the
	// news of an earlier one (held up by a partition, it can arrive after
	// the task finished and was submitted again to rebuild a lost result,
	// and would charge the death of the earlier one's node to the new one).
	// For an actor's creation task, Attempt is the owner's own attempt
	// (0, 1, 2...: it retried the creation), or, numbered apart
	// (IsRestart), the GCS's re-placement of the actor: the owner watches
	// that node for the GCS, which does not hear where the scheduler put
	// the actor.
	Attempt uint32
	Rebuild bool
}

// restartBit marks the Attempt of a creation task the GCS re-placed (see
// RestartAttempt).
const restartBit = 1 << 31

// rebuildBit carries TaskPlaced.Rebuild on the wire, in its Attempt's word
// (no attempt comes near it): the message keeps its size, so adding the
// flag moved no run's timing.
const rebuildBit = 1 << 30

// RestartAttempt is the Attempt of the GCS's n-th restart of an actor. It is
// numbered apart from the owner's own attempts at creating the actor (its
// retries after a node died before the actor came up, 1, 2...): the two
// both reach the owner as TaskPlaced and are told apart only by this.
func RestartAttempt(n uint32) uint32 { return restartBit | n }

// Places reports whether m is the placement of spec's submission (its
// Attempt and Rebuild), as far as the wire can tell (bit 30 of an attempt
// does not travel: rebuildBit).
func (m *TaskPlaced) Places(spec *TaskSpec) bool {
	return m.Attempt == spec.Attempt&^rebuildBit && m.Rebuild == spec.Rebuild
}

// IsRestart reports whether a creation task's Attempt is a GCS restart's.
func IsRestart(attempt uint32) bool { return attempt&restartBit != 0 }

// TaskDone tells a task's owner that its results are stored (for an actor
// creation: that the actor is up, and which attempt came up).
type TaskDone struct {
	Task    TaskID
	Node    NodeID
	Attempt uint32
}

// ObjectLost: the GCS knows the object existed but no copy is left.
type ObjectLost struct{ Object ObjectID }

// PutOwnerLost is ObjectLost for an object made by Put that was not freed:
// its primary copy, pinned on its owner's node until freed, went with that
// node's death, so the reader's error says the owner died (Ray's
// OwnerDiedError). A kind of its own, so ObjectLost's encoding and size
// stay as they were.
type PutOwnerLost struct{ Object ObjectID }

// GcsGetTask reads a task's spec from the task table (for reconstruction).
type GcsGetTask struct{ Task TaskID }

// TaskInfo answers GcsGetTask (and a GcsTaskFailed that asks). Failed: the
// error kind the task's results were recorded as (GcsTaskFailed:
// ErrKindCancelled or ErrKindRetriesExhausted; 0: none), so a rebuild of a
// lost one is that error again, not a run. Recorded: the object table has
// a result of the task (its last return, which its node announces last),
// copies left or not: the task finished.
//
// Claim answers a GcsRebuild (ClaimNone for every other question): whether
// the asker runs the rebuild (ClaimRun: Spec.Attempt is then the count of
// the task's re-executions, this one included), waits for another's
// (ClaimWait), or gives up because the task's retries are spent
// (ClaimSpent). On the wire it shares Recorded's byte.
type TaskInfo struct {
	Task     TaskID
	Found    bool
	Spec     TaskSpec
	Failed   uint8
	Recorded bool
	Claim    uint8
}

// The task table's answers to a GcsRebuild (TaskInfo.Claim).
const (
	// ClaimNone: the answer is not to a GcsRebuild, or the task has no
	// rebuild to run (not found, or its results were recorded as a
	// failure: Found, Failed say which).
	ClaimNone uint8 = iota
	// ClaimRun: the asker rebuilds the task; one unit of its max_retries
	// is charged.
	ClaimRun
	// ClaimWait: a rebuild of the task is under way elsewhere (claimed by
	// a node not declared dead since), or the object asked for has a copy:
	// the asker waits for it, asking again while it waits.
	ClaimWait
	// ClaimSpent: every re-execution the task's max_retries allow was
	// used (retries and rebuilds share the budget, as in Ray): the object
	// is lost for good.
	ClaimSpent
	// ClaimHeld is no answer to a GcsRebuild: the table tells an owner
	// that its retry report (GcsTaskRerun) holds the task's rebuild as
	// the owner's run under way although a result of the task was
	// announced before the report came (its copies since lost). Was that
	// result the reported run's own, the claim would hold every reader
	// for good: the owner says when it knows of no run of the task still
	// under way (GcsTaskRerun.Done), which ends the claim.
	ClaimHeld
)

// GcsRebuild claims from the task table the rebuild of a lost object
// (every copy gone) by re-running its task. The task's shard decides,
// because a task's max_retries is one budget shared by its retries and
// its rebuilds, as in Ray: it charges one unit per rebuild and answers
// with TaskInfo (Claim). Readers that hear of the same loss at once claim
// the same rebuild: the first runs it and the others wait for it, so one
// loss costs one unit and runs the task once (but for a generator's
// re-run that yields fewer items: a reader elsewhere of an item it did not
// make finds no claim and no copy once it ends, and runs it again, one
// more unit, to learn so). A write (the claim is recorded), so on a chain
// it enters at the head.
type GcsRebuild struct{ Object ObjectID }

// ObjectOrphaned tells a subscriber to an object that the owner of the
// object's task (TaskSpec.Owner, the node that submitted it and would
// retry it) died before the task made the object, and that no run of the
// task is known under way: nobody is left to retry the task if its run is
// lost too. The reader rebuilds the object from lineage as it would a
// lost one (GcsRebuild, charged to the task's max_retries), after a grace
// that lets a node still running the task hold the rebuild first
// (GcsAdoptRun): raysim keeps lineage in the GCS, so a ref outlives its
// owner. Sent by the object's shard when it hears of the owner's death
// (to the subscribers then) and at a later subscription.
type ObjectOrphaned struct {
	Object ObjectID
	Owner  NodeID
}

// TaskInfeasible tells a task's owner that the global scheduler holds the
// task because no live node of the cluster has the resources it asks for
// (Ray's "infeasible" warning): it stays held, and runs once a node that
// has them joins (an autoscaler's launch, a node started late). Attempt
// and Rebuild name the submission held, as TaskPlaced's do. Detail says
// what it asks for and what the nodes lack (at most MaxInfeasibleDetail
// bytes: CutInfeasible).
type TaskInfeasible struct {
	Task    TaskID
	Attempt uint32
	Rebuild bool
	Detail  string
}

// MaxInfeasibleDetail bounds TaskInfeasible.Detail in bytes.
const MaxInfeasibleDetail = 1024

// CutInfeasible shortens a detail to MaxInfeasibleDetail bytes, on a rune
// boundary, marking the cut.
func CutInfeasible(detail string) string {
	if len(detail) <= MaxInfeasibleDetail {
		return detail
	}
	const more = "..."
	n := MaxInfeasibleDetail - len(more)
	for n > 0 && !utf8.RuneStart(detail[n]) {
		n--
	}
	return detail[:n] + more
}

// GcsAdoptRun tells a task's shard that the sender, incarnation
// Incarnation, queues or runs the task while its owner is dead: the shard
// holds the task's rebuild as the sender's (uncharged: it is the run under
// way), so readers that claim it (ObjectOrphaned) wait for that run
// instead of starting another; the sender's death ends the hold, and the
// next claim rebuilds. A write: on a chain it enters at the head.
type GcsAdoptRun struct {
	Task        TaskID
	Incarnation uint64
}

// GcsTaskRerun tells the task table that the node owning a run of a task
// charged one more re-execution to the task's max_retries: a retry after
// its node (or its actor) died, of a first run or of a rebuild. Each is
// one unit, added to the claims the table charged itself (GcsRebuild), so
// the count is the same in whatever order the reports and the claims
// reach the table. With GiveUp it says instead that a rebuild was given up
// with the retries spent (its node died and no retry was left): the
// rebuild it claimed is over, and the task's budget is spent. With Done it
// answers the table's ClaimHeld: the owner knows of no run of the task
// under way (it heard one finished: TaskDone, or a verdict that a result
// was recorded), so the rebuild its report holds is over, uncharged. A
// report reaches the table after the run it charged announced its result
// when the owner's requests are held up behind ones a partition dropped
// (the executor's are not); with that result's copies lost meanwhile,
// nothing else would end its claim. The owner's requests are applied in
// the order it sent them, so a Done comes after the report it ends. On
// the wire the two flags share one byte.
type GcsTaskRerun struct {
	Task   TaskID
	GiveUp bool
	Done   bool
}

// GcsTaskFailed records in the task table that a task's results are an
// error its owner decided, not a run: ErrKindCancelled (a cancel) or
// ErrKindRetriesExhausted (its node died with no retry left). The raylet
// that stores them sends it before it announces them. Without it a
// cancelled result lost with its node was rebuilt by running the task, and
// a read after the loss got a value. The shard ignores it for a task with
// a result already recorded (a run that finished before: the cancel was a
// no-op, the failure none), and refuses a value located after it: the
// first the table hears of is the result for every reader. With Ask the
// shard answers with the task's TaskInfo: Recorded if a result won, Failed
// if the failure did. An owner fails a task for good only on that answer,
// so no reader sees the error while the GCS keeps a value (see
// node.Raylet.askFailure).
type GcsTaskFailed struct {
	Task    TaskID
	ErrKind uint8 // ErrKindCancelled or ErrKindRetriesExhausted
	Ask     bool
}

// IsFailureOfRecord reports whether an error kind is one an owner decides
// and the task table records (GcsTaskFailed): a cancel, or retries spent.
func IsFailureOfRecord(kind uint8) bool {
	return kind == ErrKindCancelled || kind == ErrKindRetriesExhausted
}

func (*NodeDead) Kind() Kind   { return KindNodeDead }
func (*TaskPlaced) Kind() Kind { return KindTaskPlaced }
func (*TaskDone) Kind() Kind   { return KindTaskDone }
func (*ObjectLost) Kind() Kind { return KindObjectLost }
func (*GcsGetTask) Kind() Kind { return KindGcsGetTask }
func (*TaskInfo) Kind() Kind   { return KindTaskInfo }

func (m *NodeDead) MarshalWire(e *Encoder) {
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	e.Uvarint(m.Beats<<2 | uint64(b2u(m.JobsEnd)) | uint64(b2u(m.Left))<<1)
}
func (m *NodeDead) UnmarshalWire(d *Decoder) {
	m.Node, m.Incarnation = d.Node(), d.Uvarint()
	b := d.Uvarint()
	m.Beats, m.JobsEnd, m.Left = b>>2, b&1 != 0, b&2 != 0
}
func (m *TaskPlaced) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	a := m.Attempt &^ rebuildBit
	if m.Rebuild {
		a |= rebuildBit
	}
	e.U32(a)
}
func (m *TaskPlaced) UnmarshalWire(d *Decoder) {
	m.Task, m.Node, m.Incarnation, m.Attempt = d.Task(), d.Node(), d.Uvarint(), d.U32()
	m.Rebuild, m.Attempt = m.Attempt&rebuildBit != 0, m.Attempt&^rebuildBit
}
func (m *TaskDone) MarshalWire(e *Encoder)       { e.Task(m.Task); e.Node(m.Node); e.U32(m.Attempt) }
func (m *TaskDone) UnmarshalWire(d *Decoder)     { m.Task, m.Node, m.Attempt = d.Task(), d.Node(), d.U32() }
func (m *ObjectLost) MarshalWire(e *Encoder)     { e.Object(m.Object) }
func (m *ObjectLost) UnmarshalWire(d *Decoder)   { m.Object = d.Object() }
func (m *PutOwnerLost) MarshalWire(e *Encoder)   { e.Object(m.Object) }
func (m *PutOwnerLost) UnmarshalWire(d *Decoder) { m.Object = d.Object() }
func (m *GcsGetTask) MarshalWire(e *Encoder)     { e.Task(m.Task) }
func (m *GcsGetTask) UnmarshalWire(d *Decoder)   { m.Task = d.Task() }
func (m *TaskInfo) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	e.Bool(m.Found)
	e.Spec(&m.Spec)
	e.U8(m.Failed)
	e.U8(b2u(m.Recorded) | m.Claim<<1)
}
func (m *TaskInfo) UnmarshalWire(d *Decoder) {
	m.Task, m.Found = d.Task(), d.Bool()
	d.Spec(&m.Spec)
	m.Failed = d.U8()
	b := d.U8()
	m.Recorded, m.Claim = b&1 != 0, b>>1
	if m.Claim > ClaimHeld {
		d.Fail(fmt.Errorf("%w: task info claim %d", ErrInvalid, m.Claim))
	}
}
func (*GcsRebuild) Kind() Kind                   { return KindGcsRebuild }
func (m *GcsRebuild) MarshalWire(e *Encoder)     { e.Object(m.Object) }
func (m *GcsRebuild) UnmarshalWire(d *Decoder)   { m.Object = d.Object() }
func (*ObjectOrphaned) Kind() Kind               { return KindObjectOrphaned }
func (m *ObjectOrphaned) MarshalWire(e *Encoder) { e.Object(m.Object); e.Node(m.Owner) }
func (m *ObjectOrphaned) UnmarshalWire(d *Decoder) {
	m.Object, m.Owner = d.Object(), d.Node()
}
func (*TaskInfeasible) Kind() Kind { return KindTaskInfeasible }
func (m *TaskInfeasible) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	a := m.Attempt &^ rebuildBit // Rebuild in its word, as TaskPlaced's
	if m.Rebuild {
		a |= rebuildBit
	}
	e.U32(a)
	e.String(m.Detail)
}
func (m *TaskInfeasible) UnmarshalWire(d *Decoder) {
	m.Task, m.Attempt = d.Task(), d.U32()
	m.Rebuild, m.Attempt = m.Attempt&rebuildBit != 0, m.Attempt&^rebuildBit
	m.Detail = d.boundedString("infeasible detail", MaxInfeasibleDetail)
}

// Holds reports whether m is about spec's submission (its Attempt and
// Rebuild), as TaskPlaced.Places.
func (m *TaskInfeasible) Holds(spec *TaskSpec) bool {
	return m.Attempt == spec.Attempt&^rebuildBit && m.Rebuild == spec.Rebuild
}

func (*GcsAdoptRun) Kind() Kind               { return KindGcsAdoptRun }
func (*PutOwnerLost) Kind() Kind              { return KindPutOwnerLost }
func (m *GcsAdoptRun) MarshalWire(e *Encoder) { e.Task(m.Task); e.Uvarint(m.Incarnation) }
func (m *GcsAdoptRun) UnmarshalWire(d *Decoder) {
	m.Task, m.Incarnation = d.Task(), d.Uvarint()
}
func (*GcsTaskRerun) Kind() Kind { return KindGcsTaskRerun }
func (m *GcsTaskRerun) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	e.U8(b2u(m.GiveUp) | b2u(m.Done)<<1)
}
func (m *GcsTaskRerun) UnmarshalWire(d *Decoder) {
	m.Task = d.Task()
	f := d.U8()
	m.GiveUp, m.Done = f&1 != 0, f&2 != 0
}

func (*CallsDone) Kind() Kind { return KindCallsDone }
func (m *CallsDone) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Task(m.Caller)
	e.Uvarint(uint64(len(m.Seqs)))
	for _, s := range m.Seqs {
		e.Uvarint(s)
	}
	e.Uvarint(m.Over)
}
func (m *CallsDone) UnmarshalWire(d *Decoder) {
	m.Actor, m.Caller = d.Task(), d.Task()
	if n := d.Count(MaxCallsDone, 1); n > 0 {
		m.Seqs = make([]uint64, n)
		for i := range m.Seqs {
			m.Seqs[i] = d.Uvarint()
		}
	}
	m.Over = d.Uvarint()
}

func (*OpenCalls) Kind() Kind { return KindOpenCalls }
func (m *OpenCalls) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Uvarint(uint64(len(m.Calls)))
	for _, c := range m.Calls {
		e.Task(c.Caller)
		e.Uvarint(c.Seq)
	}
}
func (m *OpenCalls) UnmarshalWire(d *Decoder) {
	m.Actor = d.Task()
	n := d.Count(MaxCallsDone, 9)
	if n == 0 {
		return
	}
	m.Calls = make([]CallNumber, n)
	for i := range m.Calls {
		m.Calls[i] = CallNumber{Caller: d.Task(), Seq: d.Uvarint()}
	}
}

func (*HeartbeatAck) Kind() Kind { return KindHeartbeatAck }

// Datagram marks the answers best effort too: the next one renews the lease.
func (*HeartbeatAck) Datagram() {}
func (m *HeartbeatAck) MarshalWire(e *Encoder) {
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	e.Duration(m.From)
}
func (m *HeartbeatAck) UnmarshalWire(d *Decoder) {
	m.Node, m.Incarnation, m.From = d.Node(), d.Uvarint(), d.Duration()
}

func (*GcsTaskFailed) Kind() Kind               { return KindGcsTaskFailed }
func (m *GcsTaskFailed) MarshalWire(e *Encoder) { e.Task(m.Task); e.U8(m.ErrKind); e.Bool(m.Ask) }
func (m *GcsTaskFailed) UnmarshalWire(d *Decoder) {
	m.Task, m.ErrKind, m.Ask = d.Task(), d.U8(), d.Bool()
}

// SpillTask: a raylet hands a task it will not run to the global scheduler,
// with what it knows of the arguments' locations.
type SpillTask struct {
	Spec TaskSpec
	Locs []ObjectLoc
}

// RespillTask: a raylet hands back to the global scheduler a task it had
// queued (accepted, its arguments here, waiting for resources) because the
// scheduler's ClusterRoom showed another node with the task's resources
// free, as Ray's raylet spills a queued task back when its resource view
// shows room elsewhere. The scheduler places it as a spill, among the
// nodes with the resources free now and the sender (which has not: it may
// still be the best, holding the task's inputs); none but the sender, it
// goes back there.
type RespillTask struct{ SpillTask }

// ClusterRoom: the global scheduler's answer to a heartbeat that reported
// a queue: the other live nodes with resources free, as its view has them
// (their heartbeats less its placements since), at most MaxRoomNodes of
// them. The raylet re-spills (RespillTask) as many of its queued tasks as
// fit there, no more.
type ClusterRoom struct{ Nodes []NodeRoom }

// NodeRoom is one node's free resources in a ClusterRoom.
type NodeRoom struct {
	Node      NodeID
	Available Resources
}

// MaxRoomNodes bounds the nodes one ClusterRoom lists: a raylet re-spills
// at most what fits on them in one round.
const MaxRoomNodes = 64

// PlaceTask: the global scheduler assigns a task to a raylet. Incarnation
// is the raylet's incarnation the scheduler placed it on (0: not known),
// the one its TaskPlaced names to the owner: a later incarnation does not
// take it (the owner retries it when it hears that one died).
type PlaceTask struct {
	Spec        TaskSpec
	Reason      string
	Incarnation uint64
	// Seq numbers the scheduler's placements (0: not one, an owner's
	// cancelled or unschedulable answer); the raylet's heartbeats echo
	// the highest it has had (Heartbeat.Placed), so the scheduler knows
	// which of its placements a heartbeat's Available already counts.
	Seq uint64
}

// GcsAddTask writes a task spec to the task table (lineage).
type GcsAddTask struct{ Spec TaskSpec }

// GcsAddTasks is several GcsAddTask to one shard in one message, in order:
// what a raylet submits in one turn (see gcs.Client.Hold). The specs are
// pointers: in netsim the message shares the submitter's specs, which
// nobody changes once submitted, instead of copying each (a spec is some
// 200 bytes, most of a task's footprint in a burst); the receiver keeps no
// pointer into them.
type GcsAddTasks struct {
	Specs []*TaskSpec
	// What Add measured: the number of specs it added and their encoded
	// bytes (see KnownWireSize).
	measured  int
	specBytes int64
}

// Add appends a spec to the batch, measuring its encoded size (SpecSize)
// if measure is set: netsim charges a batch for its size (WireMeter), and
// measuring a few thousand specs later, only to count their bytes, costs
// cache misses that a sender that just built them does not pay.
func (m *GcsAddTasks) Add(spec *TaskSpec, measure bool) {
	if measure && m.measured == len(m.Specs) {
		m.measured++
		m.specBytes += int64(SpecSize(spec))
	}
	m.Specs = append(m.Specs, spec)
}

// Reset empties the batch, keeping its room.
func (m *GcsAddTasks) Reset() {
	clear(m.Specs)
	m.Specs, m.measured, m.specBytes = m.Specs[:0], 0, 0
}

// KnownWireSize returns WireSize(m) when m knows it without being encoded:
// a GcsAddTasks built with Add.
func KnownWireSize(m Message) (int64, bool) {
	if b, ok := m.(*GcsAddTasks); ok && b.measured == len(b.Specs) && b.measured > 0 {
		n := int64(4+1+2) + int64(uvarintLen(uint64(len(b.Specs)))) + b.specBytes // prefix, version, kind
		return n, true
	}
	return 0, false
}

// uvarintLen is the length of v's encoding (Encoder.Uvarint).
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// GcsAddObject adds a location of an object to the object table. A location
// from an incarnation of Node already declared dead is ignored.
type GcsAddObject struct {
	Object      ObjectID
	Node        NodeID
	Size        int64
	Incarnation uint64
	// Owner, when non-zero, is told TaskDone for the object's task once the
	// location is recorded (so an owner never forgets a task whose result
	// the GCS has not heard of).
	Owner NodeID
	// Failed: the copy is the task's failure of record (a cancel's or a
	// spent retry budget's error: IsFailureOfRecord), not a value it made.
	// A shard that has the task's failure recorded (GcsTaskFailed) takes
	// only those (see gcs.Shard.refuseValue). On the wire it is the sign of
	// Size (-Size-1), which costs no byte.
	Failed bool
}

// GcsAddObjects is several GcsAddObject to one shard in one message, in
// order: the results a raylet stored in one busy stretch of its loop (see
// gcs.Client.AddObject).
type GcsAddObjects struct{ Objects []GcsAddObject }

// GcsRemoveObject removes a location (the copy was evicted or lost). One
// from an incarnation of Node older than the one registered now is stale
// (it may arrive after the new incarnation announced its copy) and ignored.
type GcsRemoveObject struct {
	Object      ObjectID
	Node        NodeID
	Incarnation uint64
}

// GcsSubscribeObject asks to be told (ObjectLocated) where an object is: at
// once if known, else when its first location is added.
type GcsSubscribeObject struct {
	Object ObjectID
	Avoid  NodeID // a copy the subscriber could not pull (0: none): another is named if there is one
}

// ObjectLocated is the GCS's publication of an object location.
type ObjectLocated struct {
	Object ObjectID
	Node   NodeID
	Size   int64
}

// PullRequest asks a node for its copy of an object: the chunks in Chunks
// (none: all of them). A pull retried after a stall asks only for the
// chunks it lacks, so what it has is not sent again.
type PullRequest struct {
	Object ObjectID
	Chunks []ChunkRange
}

// ChunkRange is the chunks [First, End) of an object, by index (offset /
// chunk size).
type ChunkRange struct{ First, End uint32 }

// MaxPullRanges bounds the ranges of one PullRequest; a puller with more
// holes asks for the span of the last ones.
const MaxPullRanges = 64

// ObjectChunk carries part of an object: Data is the real bytes (all in the
// first chunk, objects' real payloads are small), Virtual the bytes the chunk
// stands for on the wire.
type ObjectChunk struct {
	Object  ObjectID
	Offset  int64
	Total   int64
	ErrKind uint8
	Causes  uint32 // the value's (Value.Causes)
	Data    []byte
	Virtual int64
	// Sum is the CRC-32C of the value's real bytes (Data of every chunk),
	// or 0 when they all fit the first chunk (ChunkSum): it tells two
	// copies of an object apart, so a puller never joins chunks of
	// different runs of a nondeterministic task (a rebuilt copy and a
	// copy of the run before, still served by a node that pulled it
	// before it was freed or lost). Chunks of copies whose real bytes fit
	// the first chunk differ only in that chunk (the rest are zeros):
	// they need none. On the wire behind the sign of Offset (-Offset-1),
	// which costs no byte: a chunk without a sum is as long as before.
	Sum uint32
}

// ChunkSum is the Sum of the chunks of a value of real bytes data served
// in chunks of chunkBytes: 0 when data fits one chunk, else its CRC-32C
// (1 in place of 0).
func ChunkSum(data []byte, chunkBytes int64) uint32 {
	if int64(len(data)) <= chunkBytes {
		return 0
	}
	return max(crc32.Checksum(data, castagnoli), 1)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// VirtualBytes implements Sized.
func (m *ObjectChunk) VirtualBytes() int64 { return m.Virtual }

// PullFailed: the node asked has no copy (any more).
type PullFailed struct{ Object ObjectID }

// Heartbeat carries a raylet's load to the GCS node table, which forwards it
// to the global scheduler.
type Heartbeat struct {
	Node         NodeID
	Incarnation  uint64
	Total        Resources
	Available    Resources
	QueueLen     uint32
	MeanTaskTime time.Duration
	// MeanBandwidth is the node's mean pull throughput (an exponential
	// average over its pulls of at least a chunk), bytes/s; 0 until
	// one is measured. The global scheduler's wait estimate divides the
	// bytes a node lacks by it.
	MeanBandwidth uint64
	// Sent is when the node sent the heartbeat, on its own monotonic clock
	// (time since its raylet was made): the node table answers with it
	// (HeartbeatAck.From). No other node reads it.
	Sent time.Duration
	// Placed is the highest PlaceTask.Seq the node had from the global
	// scheduler when it sent the heartbeat: the scheduler's placements
	// numbered above it were still on their way, and the scheduler takes
	// their resources from Available (a stale Available showed room a
	// placement had taken, and re-spills filled it twice).
	Placed uint64
	// Held is how long the heartbeat waited at the head of the node
	// table's chain before the head took it (on the head's monotonic
	// clock), stamped there over whatever the sender wrote; unused by an
	// unreplicated shard, which measures its own.
	Held time.Duration
}

// HeartbeatAck is the node table's answer to a heartbeat it took from a
// live incarnation. From is the heartbeat's Sent plus how long the
// heartbeat waited at the node table before it was taken (Held): the node
// table took it no earlier, on the node's monotonic clock, and declares
// the incarnation dead only after NodeTimeout of silence from then,
// measured on its own monotonic clock. So until a little before From +
// NodeTimeout the node may go on starting work, and after, it stops (a
// lease: a node cut off from the node table fences itself before it can be
// declared dead, and so never runs a task as a zombie, placed there by a
// scheduler not yet told). No clock is compared with another node's: clock
// skew cannot stretch the lease (the clocks' rates must agree).
type HeartbeatAck struct {
	Node        NodeID
	Incarnation uint64
	From        time.Duration
}

// RegisterNode announces a raylet (and its function table digest) to the GCS.
type RegisterNode struct {
	Node        NodeID
	Incarnation uint64
	Total       Resources
	Functions   uint64
}

// Actor states in the actor table.
const (
	ActorPending uint8 = iota
	ActorAlive
	ActorRestarting
	ActorDead
)

// MaxActorCause bounds an actor's Cause on the wire (GcsActorUpdate,
// ActorInfo): a longer one is refused at decode, so a peer cannot make
// the actor table keep megabytes per actor. Senders cut theirs to fit
// (CutCause).
const MaxActorCause = 2048

// OwnerDiedCause is the cause of death of an actor whose owner, node
// owner's incarnation that created it, died (see ActorSpec.Detached);
// name is the owner's name, when known ("": none).
func OwnerDiedCause(owner NodeID, name string) string {
	return ownerDiedPrefix + NodeText(owner, name) + ", died (the actor was not detached)"
}

// NodeText names a node in an error text or a log line: "node 3", or
// "node 3 (worker-1)" when its name is known (a live cluster's --name),
// so that a reader need not map IDs to machines.
func NodeText(id NodeID, name string) string {
	if name == "" {
		return fmt.Sprintf("node %d", id)
	}
	return fmt.Sprintf("node %d (%s)", id, name)
}

const ownerDiedPrefix = "its owner, "

// IsOwnerDied reports whether cause is an OwnerDiedCause.
func IsOwnerDied(cause string) bool { return strings.HasPrefix(cause, ownerDiedPrefix) }

// CutCause returns cause cut to MaxActorCause bytes (at a rune boundary,
// with an ellipsis when cut).
func CutCause(cause string) string {
	if len(cause) <= MaxActorCause {
		return cause
	}
	const more = "..."
	n := MaxActorCause - len(more)
	for n > 0 && !utf8.RuneStart(cause[n]) {
		n--
	}
	return cause[:n] + more
}

// On the wire an actor's state shares its byte with three flags, which
// say whether a class name, a cause and the actor's call defaults follow
// at the end of the message: news without them (an actor without a name,
// not dead of an error) costs no byte more than before they existed.
const (
	actorHasClass uint8 = 0x80
	actorHasCause uint8 = 0x40
	actorHasCalls uint8 = 0x20
	actorFlags          = actorHasClass | actorHasCause | actorHasCalls
	// actorHasRestarts, in a GcsActorUpdate's state byte only, says its
	// Restarts follow its tail (a uvarint).
	actorHasRestarts uint8 = 0x10
)

// actorState encodes an actor's state byte with its flags.
func actorState(state uint8, class, cause string, calls CallDefaults) uint8 {
	b := state &^ actorFlags
	if class != "" {
		b |= actorHasClass
	}
	if cause != "" {
		b |= actorHasCause
	}
	if !calls.IsZero() {
		b |= actorHasCalls
	}
	return b
}

// actorTail encodes the class, cause and call defaults actorState
// announced (the call defaults as a flags byte, then their fields).
func (e *Encoder) actorTail(class, cause string, calls CallDefaults) {
	if class != "" {
		e.String(class)
	}
	if cause != "" {
		e.String(cause)
	}
	e.buf = appendMore(e.buf, calls, nil, "")
}

// actorTail decodes the class, cause and call defaults the state byte b
// announced, and returns the state without its flags.
func (d *Decoder) actorTail(b uint8) (state uint8, class, cause string, calls CallDefaults) {
	if b&actorHasClass != 0 {
		class = d.String()
	}
	if b&actorHasCause != 0 {
		if cause = d.String(); len(cause) > MaxActorCause {
			d.Fail(fmt.Errorf("%w: an actor's cause of %d bytes (at most %d)", ErrInvalid, len(cause), MaxActorCause))
		}
	}
	if b&actorHasCalls != 0 {
		calls, _, _ = d.more(moreRetries | morePending)
	}
	return b &^ actorFlags, class, cause, calls
}

// GcsActorUpdate writes an actor's state and location to the actor table.
type GcsActorUpdate struct {
	Actor ActorID
	Node  NodeID
	State uint8
	Name  string
	// Owner, when non-zero on an "alive" update, is told TaskDone for the
	// creation task once the actor's shard has recorded it alive. On the
	// creator's "pending" update (sent at submission) it is the creator's
	// own node, the actor's owner, with its incarnation in Incarnation,
	// for an actor that is not detached (ActorSpec.Detached): the actor's
	// shard buries the actor when that incarnation dies (zero: a detached
	// actor, which outlives its creator).
	Owner NodeID
	// Restart, on a "restarting" update from the actor's owner, says the
	// node the GCS's restart with Attempt Restart (RestartAttempt) was
	// placed on (Node) died before the actor came up there: place it again.
	Restart uint32
	// Incarnation, on an "alive" update from the actor's host, is the
	// host's: a shard that knows that incarnation dead ignores the news
	// (every shard, not only the node table's, which alone registers nodes).
	// On a host's "restarting" report (its worker crashed) it is the
	// host's too: a report from another incarnation than the actor's is
	// stale. On the creator's "pending" update, with Owner, it is the
	// owner's.
	Incarnation uint64
	// Attempt, on an "alive" update from the actor's host, is the creation
	// attempt that came up (a GCS restart's is a RestartAttempt): the
	// owner's TaskDone carries it. On a "restarting" update the actor's
	// shard decides (and forwards to the name's shard), the attempt of
	// the restart it asks for: a name's shard orders the two by it (a
	// "restarting" that reaches it after its restart's "alive" is older
	// news; protocol 51).
	Attempt uint32
	// Class, on the updates of a named actor, is its class (its creation
	// task's Func): the name's shard keeps it, so that a lookup by name
	// tells the class (ray.GetActor checks it). Empty: not said (the
	// table keeps what it had).
	Class string
	// Cause, on a "dead" update, says why the actor died when its host or
	// killer knows (its constructor's error, ray.Kill): callers' errors
	// carry it. At most MaxActorCause bytes.
	Cause string
	// Calls, on the updates of a named actor, are its creation's call
	// defaults (ActorSpec.Calls): the name's shard keeps them, so that a
	// lookup by name tells them (ray.GetActor's handle calls as the
	// creator's does). Zero: not said (the table keeps what it had).
	Calls CallDefaults
	// Restarts, on an update the actor's shard sends the name's shard
	// (applyActor: a restart's "restarting", a burial), is the actor's
	// restarts so far: only the actor's shard counts them, and the name's
	// shard keeps the most it was told, so that its lookups and
	// publications say it as the actor's shard's do (ActorInfo.Restarts:
	// a raylet tells a restarted instance from the one before by it).
	// Zero: not said (every other update). On the wire behind a flag in
	// the state byte (actorHasRestarts; protocol 54), at most
	// MaxActorRestarts.
	Restarts uint32
}

// MaxActorRestarts bounds GcsActorUpdate.Restarts on the wire: a restart's
// number (RestartAttempt) is at least its count and stays below the bits
// an attempt's word carries flags in (rebuildBit).
const MaxActorRestarts = rebuildBit - 1

// GcsLookupActor asks for an actor by ID (or by Name when Actor is zero) and
// subscribes the sender to its state changes.
type GcsLookupActor struct {
	Actor ActorID
	Name  string
}

// ActorInfo answers a lookup or publishes an actor's new state. Found is
// false for a name nobody registered.
type ActorInfo struct {
	Actor ActorID
	Node  NodeID
	State uint8
	Name  string
	Found bool
	// Restarts counts the actor's restarts so far: an instance restarted
	// on the node it lived on is told apart from the one before it.
	Restarts uint32
	// Incarnation is the incarnation of Node that reported the actor alive
	// (0: not known): a caller's route is not the victim of a late death
	// of an earlier incarnation of that node.
	Incarnation uint64
	// Class is the actor's class, when the table knows it (a named
	// actor's; see GcsActorUpdate.Class).
	Class string
	// Cause, for a dead actor, is why it died, when the table was told
	// (GcsActorUpdate.Cause).
	Cause string
	// Calls are the actor's call defaults, when the table knows them (a
	// named actor's; see GcsActorUpdate.Calls).
	Calls CallDefaults
}

// GcsCreationLost: the creator of an actor still owns its creation (no
// TaskDone yet) and the node it was placed on died. The actor's shard,
// which alone decides, applies that death first (so news of the actor
// alive from that incarnation is ignored from now on) and answers with
// CreationLost: whether it ever saw the actor alive (it then restarts it
// itself) or not (the creator retries the creation). Without one decider
// both did, and two instances lived.
type GcsCreationLost struct {
	Actor       ActorID
	Node        NodeID
	Incarnation uint64
}

// CreationLost answers GcsCreationLost. Node and Incarnation repeat the
// question's: a creator may ask again (an answer can die with the chain's
// tail), and a late answer to an earlier question — about an earlier
// attempt's node — must not pass for the answer to the current one.
type CreationLost struct {
	Actor       ActorID
	Node        NodeID
	Incarnation uint64
	SeenAlive   bool
}

// CallBounced tells a call's owner that the node it delivered the call to
// hosts no such actor: the node restarted, or the actor's worker died
// there, after the owner learned where the actor was. The owner treats the
// call as lost with that instance (Attempt names the delivery) and waits
// for the actor table to say where the actor is now, as Ray's caller waits
// for the GCS's word on an actor whose worker it cannot reach.
type CallBounced struct {
	Task        TaskID
	Attempt     uint32
	Incarnation uint64 // of the node that bounced it
	// Dropped: the host held the call when it dropped its actor (a worker
	// crash, a rejoin): a death of its own, charged every time.
	Dropped bool
}

// ActorCall sends a method call to the raylet hosting the actor.
// Incarnation is the host's incarnation the caller's route names (0: not
// known): another incarnation bounces the call (CallBounced) instead of
// taking it, so that a call runs only where its owner thinks it went (a
// call settled by that incarnation's death must not also run on the next).
type ActorCall struct {
	Spec        TaskSpec
	Incarnation uint64
}

// CallsDone tells an actor's host that a caller's calls with these numbers
// are done, though calls below them are not: failed by their owner
// (cancelled, out of retries), cancelled at a host, or finished with their
// TaskDones out of order. A restarted actor takes a caller's order from
// the lowest number not done (ActorSpec.SeqBase) and would wait for these
// for good. The owner sends it ahead of a retried call it delivers while
// such numbers exist.
//
// Over, when not 0, is the caller's word that it is over (its task, or
// its actor method, has finished, and every call it made is done for
// it): its calls numbered below Over, all it made, are done. The owner
// sends it as it drops the caller's call sequence (Raylet.dropTrack), to
// a restarted instance, whose restored state keeps the result of a call
// not said done for its caller's retry: the last call of a caller that
// calls no more was never said done (review31 #1). It is a done word
// only: the host keeps the caller's place in its order, since a new run
// of the caller task (a retry, a rebuild of its result) sends its calls
// again under the same IDs and numbers, and they must stay duplicates;
// the host forgets a caller only once the caller's job has ended for
// good (see Raylet.releaseJobCallers).
type CallsDone struct {
	Actor  ActorID
	Caller TaskID
	Seqs   []uint64
	Over   uint64
}

// MaxCallsDone bounds CallsDone.Seqs at decode.
const MaxCallsDone = 4096

// OpenCalls asks the owner of calls a restarted actor's restored state
// holds (the node that sent them, as the method log's specs say) which of
// them are done for it. The owner answers with a CallsDone per caller, listing the numbers it will
// not retry (its caller's sequence gone, or past them), so the host keeps
// their results only for a rebuild, within its bound: a caller over before
// the restart never tells the new instance itself (review31 #1).
type OpenCalls struct {
	Actor ActorID
	Calls []CallNumber
}

// CallNumber names an actor call by its caller and its number in the
// caller's order (ActorSpec.Caller, Seq).
type CallNumber struct {
	Caller TaskID
	Seq    uint64
}

// CancelTask asks every raylet and the global scheduler to drop a task.
// Rebuild: the canceller owns a rebuild of the task (a run started to
// make again a result lost or freed), which the cancel ends too. A cancel
// without it leaves rebuilds alone: a task is rebuilt only because a run
// of it finished, and a cancel of a finished task is a no-op — one held
// in flight since before the rebuild began must not end it.
// Force (Ray's force=True): a running normal task's worker is taken for
// killed — its result is the cancel at once, its resources freed, and
// what its code still does is discarded. Shallow (Ray's recursive=False):
// the tasks the cancelled task submitted are left alone.
type CancelTask struct {
	Task    TaskID
	Force   bool
	Rebuild bool
	Shallow bool
}

// KillActor ends an actor: for good when NoRestart; else (ray.Kill with
// AllowRestart) its host ends its worker as a crash would, and the actor
// table restarts it while its restarts allow (node.Raylet.Kill).
type KillActor struct {
	Actor     ActorID
	NoRestart bool
	// Cause, when set, is why the actor table ended the actor (its
	// record's cause: ray.Kill, or its name taken by another), for its
	// host to tell the calls it fails; empty, the kill is a ray.Kill. At
	// most MaxActorCause bytes; carried only when set.
	Cause string
}

func (*SpillTask) Kind() Kind          { return KindSpillTask }
func (*PlaceTask) Kind() Kind          { return KindPlaceTask }
func (*GcsAddTask) Kind() Kind         { return KindGcsAddTask }
func (*GcsAddTasks) Kind() Kind        { return KindGcsAddTasks }
func (*GcsAddObject) Kind() Kind       { return KindGcsAddObject }
func (*GcsAddObjects) Kind() Kind      { return KindGcsAddObjects }
func (*GcsRemoveObject) Kind() Kind    { return KindGcsRemoveObject }
func (*GcsSubscribeObject) Kind() Kind { return KindGcsSubscribeObject }
func (*ObjectLocated) Kind() Kind      { return KindObjectLocated }
func (*PullRequest) Kind() Kind        { return KindPullRequest }
func (*ObjectChunk) Kind() Kind        { return KindObjectChunk }
func (*PullFailed) Kind() Kind         { return KindPullFailed }
func (*Heartbeat) Kind() Kind          { return KindHeartbeat }

// Datagram marks heartbeats best effort: the next one replaces a lost one.
func (*Heartbeat) Datagram()        {}
func (*RegisterNode) Kind() Kind    { return KindRegisterNode }
func (*GcsActorUpdate) Kind() Kind  { return KindGcsActorUpdate }
func (*GcsLookupActor) Kind() Kind  { return KindGcsLookupActor }
func (*ActorInfo) Kind() Kind       { return KindActorInfo }
func (*ActorCall) Kind() Kind       { return KindActorCall }
func (*CallBounced) Kind() Kind     { return KindCallBounced }
func (*GcsCreationLost) Kind() Kind { return KindGcsCreationLost }
func (*CreationLost) Kind() Kind    { return KindCreationLost }

func (m *GcsCreationLost) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
}
func (m *GcsCreationLost) UnmarshalWire(d *Decoder) {
	m.Actor, m.Node, m.Incarnation = d.Task(), d.Node(), d.Uvarint()
}
func (m *CreationLost) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	e.Bool(m.SeenAlive)
}
func (m *CreationLost) UnmarshalWire(d *Decoder) {
	m.Actor, m.Node, m.Incarnation, m.SeenAlive = d.Task(), d.Node(), d.Uvarint(), d.Bool()
}
func (*CancelTask) Kind() Kind { return KindCancelTask }
func (*KillActor) Kind() Kind  { return KindKillActor }

func (m *SpillTask) MarshalWire(e *Encoder) {
	e.Spec(&m.Spec)
	e.Uvarint(uint64(len(m.Locs)))
	for _, l := range m.Locs {
		e.Object(l.Object)
		e.Varint(l.Size)
		e.Nodes(l.Nodes)
	}
}
func (m *SpillTask) UnmarshalWire(d *Decoder) {
	d.Spec(&m.Spec)
	if n := d.Count(MaxCount, minObjectLocBytes); n > 0 {
		m.Locs = make([]ObjectLoc, n)
		for i := range m.Locs {
			m.Locs[i] = ObjectLoc{Object: d.Object(), Size: d.Varint(), Nodes: d.Nodes()}
		}
	}
}
func (*RespillTask) Kind() Kind { return KindRespillTask }
func (*ClusterRoom) Kind() Kind { return KindClusterRoom }
func (m *ClusterRoom) MarshalWire(e *Encoder) {
	e.Uvarint(uint64(len(m.Nodes)))
	for _, n := range m.Nodes {
		e.Node(n.Node)
		e.Resources(n.Available)
	}
}
func (m *ClusterRoom) UnmarshalWire(d *Decoder) {
	if n := d.Count(MaxRoomNodes, minNodeRoomBytes); n > 0 {
		m.Nodes = make([]NodeRoom, n)
		for i := range m.Nodes {
			m.Nodes[i] = NodeRoom{Node: d.Node(), Available: d.Resources()}
		}
	}
}
func (m *PlaceTask) MarshalWire(e *Encoder) {
	e.Spec(&m.Spec)
	e.String(m.Reason)
	e.Uvarint(m.Incarnation)
	e.Uvarint(m.Seq)
}
func (m *PlaceTask) UnmarshalWire(d *Decoder) {
	d.Spec(&m.Spec)
	m.Reason, m.Incarnation, m.Seq = d.String(), d.Uvarint(), d.Uvarint()
}
func (m *GcsAddTask) MarshalWire(e *Encoder) { e.Spec(&m.Spec) }
func (m *GcsAddTask) UnmarshalWire(d *Decoder) {
	d.Spec(&m.Spec)
}
func (m *GcsAddTasks) MarshalWire(e *Encoder) {
	e.Uvarint(uint64(len(m.Specs)))
	for _, spec := range m.Specs {
		e.Spec(spec)
	}
}

// minSpecBytes is the fewest bytes a spec takes on the wire, which bounds a
// count of specs by what is left of a body (Decoder.Count): the lower it is,
// the more TaskSpecs (160 bytes each in memory) a hostile count makes the
// decoder allocate per byte of body. It is measured on the encoder so that it
// follows the field list: every field of a spec is fixed-width (task IDs, the
// strategy byte, bools) or a varint, length or count, whose zero takes its
// fewest bytes (one), so the zero spec's encoding (52 bytes) is the shortest.
var minSpecBytes = func() int {
	var e Encoder
	e.Spec(&TaskSpec{})
	return e.Len()
}()

// Fewest bytes one element of these lists takes on the wire (see
// Decoder.Count), from their encoders' field lists:
const (
	// an Arg: the IsRef bool and an inline Value (Data's length, Size,
	// ErrKind), shorter than a reference (an object ID, 9 bytes and up).
	minArgBytes = 1 + 3
	// an ObjectLoc: an object ID (8-byte task and a varint), Size, and
	// the count of Nodes.
	minObjectLocBytes = 9 + 1 + 1
	// a NodeRoom: a node ID (a varint) and a Resources (CPU, GPU and the
	// count of custom amounts, a varint each).
	minNodeRoomBytes = 1 + 3
)

func (m *GcsAddTasks) UnmarshalWire(d *Decoder) {
	n := d.Count(MaxCount, minSpecBytes)
	if n == 0 {
		m.Specs = nil
		return
	}
	specs := make([]TaskSpec, n)
	m.Specs = make([]*TaskSpec, n)
	for i := range specs {
		d.Spec(&specs[i])
		m.Specs[i] = &specs[i]
	}
}
func (m *GcsAddObject) MarshalWire(e *Encoder) {
	e.Object(m.Object)
	e.Node(m.Node)
	size := max(m.Size, 0)
	if m.Failed {
		size = -size - 1
	}
	e.Varint(size)
	e.Uvarint(m.Incarnation)
	e.Node(m.Owner)
}
func (m *GcsAddObject) UnmarshalWire(d *Decoder) {
	m.Object, m.Node, m.Size, m.Incarnation, m.Owner = d.Object(), d.Node(), d.Varint(), d.Uvarint(), d.Node()
	if m.Failed = m.Size < 0; m.Failed {
		m.Size = -(m.Size + 1)
	}
}
func (m *GcsAddObjects) MarshalWire(e *Encoder) {
	e.Uvarint(uint64(len(m.Objects)))
	for i := range m.Objects {
		m.Objects[i].MarshalWire(e)
	}
}

// minAddObjectBytes is the fewest bytes a GcsAddObject takes on the wire
// (an object ID's task, and a byte for each other field).
const minAddObjectBytes = 13

func (m *GcsAddObjects) UnmarshalWire(d *Decoder) {
	n := d.Count(MaxCount, minAddObjectBytes)
	if n == 0 {
		m.Objects = nil
		return
	}
	m.Objects = make([]GcsAddObject, n)
	for i := range m.Objects {
		m.Objects[i].UnmarshalWire(d)
	}
}
func (m *GcsRemoveObject) MarshalWire(e *Encoder) {
	e.Object(m.Object)
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
}
func (m *GcsRemoveObject) UnmarshalWire(d *Decoder) {
	m.Object, m.Node, m.Incarnation = d.Object(), d.Node(), d.Uvarint()
}
func (m *GcsSubscribeObject) MarshalWire(e *Encoder) {
	e.Object(m.Object)
	e.Node(m.Avoid)
}
func (m *GcsSubscribeObject) UnmarshalWire(d *Decoder) { m.Object, m.Avoid = d.Object(), d.Node() }
func (m *ObjectLocated) MarshalWire(e *Encoder)        { e.Object(m.Object); e.Node(m.Node); e.Varint(m.Size) }
func (m *ObjectLocated) UnmarshalWire(d *Decoder) {
	m.Object, m.Node, m.Size = d.Object(), d.Node(), d.Varint()
}
func (m *PullRequest) MarshalWire(e *Encoder) {
	e.Object(m.Object)
	e.Uvarint(uint64(len(m.Chunks)))
	for _, c := range m.Chunks {
		e.Uvarint(uint64(c.First))
		e.Uvarint(uint64(c.End))
	}
}
func (m *PullRequest) UnmarshalWire(d *Decoder) {
	m.Object = d.Object()
	if n := d.Count(MaxPullRanges, 2); n > 0 {
		m.Chunks = make([]ChunkRange, n)
		for i := range m.Chunks {
			m.Chunks[i] = ChunkRange{First: uint32(d.Count(1<<32-1, 0)), End: uint32(d.Count(1<<32-1, 0))}
		}
	}
}
func (m *ObjectChunk) MarshalWire(e *Encoder) {
	e.Object(m.Object)
	if m.Sum != 0 {
		e.Varint(-m.Offset - 1) // a sum follows
	} else {
		e.Varint(m.Offset)
	}
	e.Varint(m.Total)
	e.buf = appendErrKind(e.buf, &Value{ErrKind: m.ErrKind, Causes: m.Causes})
	e.Bytes8(m.Data)
	e.Varint(m.Virtual)
	if m.Sum != 0 {
		e.Uvarint(uint64(m.Sum))
	}
}
func (m *ObjectChunk) UnmarshalWire(d *Decoder) {
	m.Object, m.Offset, m.Total = d.Object(), d.Varint(), d.Varint()
	m.ErrKind, m.Causes = d.errKind()
	m.Data, m.Virtual = d.Bytes8(), d.Varint()
	if m.Offset < 0 {
		m.Offset = -(m.Offset + 1)
		m.Sum = uint32(d.Count(math.MaxUint32, 0))
		if m.Sum == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: object chunk flags a sum of 0", ErrInvalid))
		}
	}
	if m.Virtual < 0 || m.Total < 0 {
		d.Fail(fmt.Errorf("%w: negative size in object chunk", ErrTooLarge))
	}
}
func (m *PullFailed) MarshalWire(e *Encoder)   { e.Object(m.Object) }
func (m *PullFailed) UnmarshalWire(d *Decoder) { m.Object = d.Object() }
func (m *Heartbeat) MarshalWire(e *Encoder) {
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	e.Resources(m.Total)
	e.Resources(m.Available)
	e.Uvarint(uint64(m.QueueLen))
	e.Duration(m.MeanTaskTime)
	e.Uvarint(m.MeanBandwidth)
	e.Duration(m.Sent)
	e.Duration(m.Held)
	e.Uvarint(m.Placed)
}
func (m *Heartbeat) UnmarshalWire(d *Decoder) {
	m.Node, m.Incarnation, m.Total, m.Available = d.Node(), d.Uvarint(), d.ResourcesNonNeg(), d.Resources()
	m.QueueLen, m.MeanTaskTime, m.MeanBandwidth = uint32(d.Count(1<<32-1, 0)), d.Duration(), d.Uvarint()
	m.Sent, m.Held, m.Placed = d.Duration(), d.Duration(), d.Uvarint()
	if m.MeanTaskTime < 0 {
		d.Fail(fmt.Errorf("%w: negative mean task time %v", ErrInvalid, m.MeanTaskTime))
	}
}
func (m *RegisterNode) MarshalWire(e *Encoder) {
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	e.Resources(m.Total)
	e.U64(m.Functions)
}
func (m *RegisterNode) UnmarshalWire(d *Decoder) {
	m.Node, m.Incarnation, m.Total, m.Functions = d.Node(), d.Uvarint(), d.ResourcesNonNeg(), d.U64()
}
func (m *GcsActorUpdate) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Node(m.Node)
	b := actorState(m.State, m.Class, m.Cause, m.Calls)
	if m.Restarts != 0 {
		b |= actorHasRestarts
	}
	e.U8(b)
	e.String(m.Name)
	e.Node(m.Owner)
	e.U32(m.Restart)
	e.Uvarint(m.Incarnation)
	e.U32(m.Attempt)
	e.actorTail(m.Class, m.Cause, m.Calls)
	if m.Restarts != 0 {
		e.Uvarint(uint64(m.Restarts))
	}
}
func (m *GcsActorUpdate) UnmarshalWire(d *Decoder) {
	var b uint8
	m.Actor, m.Node, b, m.Name, m.Owner, m.Restart = d.Task(), d.Node(), d.U8(), d.actorName(), d.Node(), d.U32()
	m.Incarnation, m.Attempt = d.Uvarint(), d.U32()
	m.State, m.Class, m.Cause, m.Calls = d.actorTail(b &^ actorHasRestarts)
	if b&actorHasRestarts != 0 {
		m.Restarts = uint32(d.Count(MaxActorRestarts, 0))
		if m.Restarts == 0 && d.err == nil {
			d.Fail(fmt.Errorf("%w: actor update flags a restart count of 0", ErrInvalid))
		}
	}
}
func (m *GcsLookupActor) MarshalWire(e *Encoder)   { e.Task(m.Actor); e.String(m.Name) }
func (m *GcsLookupActor) UnmarshalWire(d *Decoder) { m.Actor, m.Name = d.Task(), d.actorName() }
func (m *ActorInfo) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	e.Node(m.Node)
	e.U8(actorState(m.State, m.Class, m.Cause, m.Calls))
	e.String(m.Name)
	e.Bool(m.Found)
	e.U32(m.Restarts)
	e.Uvarint(m.Incarnation)
	e.actorTail(m.Class, m.Cause, m.Calls)
}
func (m *ActorInfo) UnmarshalWire(d *Decoder) {
	var b uint8
	m.Actor, m.Node, b, m.Name, m.Found, m.Restarts = d.Task(), d.Node(), d.U8(), d.actorName(), d.Bool(), d.U32()
	m.Incarnation = d.Uvarint()
	m.State, m.Class, m.Cause, m.Calls = d.actorTail(b)
}
func (m *CallBounced) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	e.U32(m.Attempt)
	e.Uvarint(m.Incarnation)
	e.Bool(m.Dropped)
}
func (m *CallBounced) UnmarshalWire(d *Decoder) {
	m.Task, m.Attempt, m.Incarnation, m.Dropped = d.Task(), d.U32(), d.Uvarint(), d.Bool()
}
func (m *ActorCall) MarshalWire(e *Encoder)   { e.Spec(&m.Spec); e.Uvarint(m.Incarnation) }
func (m *ActorCall) UnmarshalWire(d *Decoder) { d.Spec(&m.Spec); m.Incarnation = d.Uvarint() }
func (m *CancelTask) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	e.U8(b2u(m.Force) | b2u(m.Rebuild)<<1 | b2u(m.Shallow)<<2)
}
func (m *CancelTask) UnmarshalWire(d *Decoder) {
	m.Task = d.Task()
	f := d.U8()
	m.Force, m.Rebuild, m.Shallow = f&1 != 0, f&2 != 0, f&4 != 0
}
func (m *KillActor) MarshalWire(e *Encoder) {
	e.Task(m.Actor)
	b := b2u(m.NoRestart)
	if m.Cause != "" {
		b |= actorHasCause
	}
	e.U8(b)
	if m.Cause != "" {
		e.String(m.Cause)
	}
}

func (m *KillActor) UnmarshalWire(d *Decoder) {
	m.Actor = d.Task()
	b := d.U8()
	m.NoRestart = b&^actorHasCause != 0
	if b&actorHasCause != 0 {
		if m.Cause = d.String(); len(m.Cause) > MaxActorCause {
			d.Fail(fmt.Errorf("%w: a kill's cause of %d bytes (at most %d)", ErrInvalid, len(m.Cause), MaxActorCause))
		}
	}
}

func init() {
	register(KindSpillTask, func() Message { return new(SpillTask) })
	register(KindPlaceTask, func() Message { return new(PlaceTask) })
	register(KindGcsAddTask, func() Message { return new(GcsAddTask) })
	register(KindGcsAddObject, func() Message { return new(GcsAddObject) })
	register(KindGcsRemoveObject, func() Message { return new(GcsRemoveObject) })
	register(KindGcsSubscribeObject, func() Message { return new(GcsSubscribeObject) })
	register(KindObjectLocated, func() Message { return new(ObjectLocated) })
	register(KindPullRequest, func() Message { return new(PullRequest) })
	register(KindObjectChunk, func() Message { return new(ObjectChunk) })
	register(KindPullFailed, func() Message { return new(PullFailed) })
	register(KindHeartbeat, func() Message { return new(Heartbeat) })
	register(KindRegisterNode, func() Message { return new(RegisterNode) })
	register(KindGcsActorUpdate, func() Message { return new(GcsActorUpdate) })
	register(KindGcsLookupActor, func() Message { return new(GcsLookupActor) })
	register(KindActorInfo, func() Message { return new(ActorInfo) })
	register(KindActorCall, func() Message { return new(ActorCall) })
	register(KindCancelTask, func() Message { return new(CancelTask) })
	register(KindKillActor, func() Message { return new(KillActor) })
	register(KindNodeDead, func() Message { return new(NodeDead) })
	register(KindTaskPlaced, func() Message { return new(TaskPlaced) })
	register(KindTaskDone, func() Message { return new(TaskDone) })
	register(KindObjectLost, func() Message { return new(ObjectLost) })
	register(KindGcsGetTask, func() Message { return new(GcsGetTask) })
	register(KindTaskInfo, func() Message { return new(TaskInfo) })
	register(KindGcsActorCheckpoint, func() Message { return new(GcsActorCheckpoint) })
	register(KindGcsGetActorCheckpoint, func() Message { return new(GcsGetActorCheckpoint) })
	register(KindActorCheckpoint, func() Message { return new(ActorCheckpoint) })
	register(KindGcsActorMethod, func() Message { return new(GcsActorMethod) })
	register(KindGcsFreeObjects, func() Message { return new(GcsFreeObjects) })
	register(KindFreeObjects, func() Message { return new(FreeObjects) })
	register(KindGcsAddTasks, func() Message { return new(GcsAddTasks) })
	register(KindCallBounced, func() Message { return new(CallBounced) })
	register(KindGcsCreationLost, func() Message { return new(GcsCreationLost) })
	register(KindCreationLost, func() Message { return new(CreationLost) })
	register(KindGcsAddObjects, func() Message { return new(GcsAddObjects) })
	register(KindGcsTaskFailed, func() Message { return new(GcsTaskFailed) })
	register(KindCallsDone, func() Message { return new(CallsDone) })
	register(KindHeartbeatAck, func() Message { return new(HeartbeatAck) })
	register(KindActorWritten, func() Message { return new(ActorWritten) })
	register(KindNodeLeaving, func() Message { return new(NodeLeaving) })
	register(KindStreamWait, func() Message { return new(StreamWait) })
	register(KindStreamConsumed, func() Message { return new(StreamConsumed) })
	register(KindStreamEnded, func() Message { return new(StreamEnded) })
	register(KindGcsRebuild, func() Message { return new(GcsRebuild) })
	register(KindGcsTaskRerun, func() Message { return new(GcsTaskRerun) })
	register(KindClusterRoom, func() Message { return new(ClusterRoom) })
	register(KindRespillTask, func() Message { return new(RespillTask) })
	register(KindObjectOrphaned, func() Message { return new(ObjectOrphaned) })
	register(KindGcsAdoptRun, func() Message { return new(GcsAdoptRun) })
	register(KindJobEnd, func() Message { return new(JobEnd) })
	register(KindPutOwnerLost, func() Message { return new(PutOwnerLost) })
	register(KindTaskInfeasible, func() Message { return new(TaskInfeasible) })
	register(KindGcsObjectsGone, func() Message { return new(GcsObjectsGone) })
	register(KindObjectJobEnded, func() Message { return new(ObjectJobEnded) })
	register(KindOpenCalls, func() Message { return new(OpenCalls) })
}

// StreamWait asks a generator task's owner (TaskSpec.Owner) to answer
// with StreamConsumed once the caller has taken Need of the stream's
// items (Stream.Next): the generator, run with TaskSpec.Backpressure, has
// that many items or more yielded and not taken, and its yield blocks
// until then (Ray's held ReportGeneratorItemReturns reply). The owner
// holds one such ask per asking node, the last.
type StreamWait struct {
	Task TaskID
	Need uint32
}

// StreamConsumed answers a StreamWait: the caller has taken Consumed
// items of the stream. Gone: the owner has no such stream (its caller
// reached the end, or the owner is a later incarnation, or a rebuild's
// owner, which no caller iterates): the generator runs on without
// backpressure, as Ray's executor does when the caller deleted the
// stream.
type StreamConsumed struct {
	Task     TaskID
	Consumed uint32
	Gone     bool
}

// StreamEnded tells the owner of a generator task's re-run (a retry, a
// lineage rebuild) how many items the run yielded: items past Count that
// an earlier run yielded will not be made again, and the owner's readers
// of them get ErrKindObjectLost at once rather than wait for good (Ray
// fails them too).
type StreamEnded struct {
	Task  TaskID
	Count uint32
}

func (*StreamWait) Kind() Kind     { return KindStreamWait }
func (*StreamConsumed) Kind() Kind { return KindStreamConsumed }
func (*StreamEnded) Kind() Kind    { return KindStreamEnded }

func (m *StreamWait) MarshalWire(e *Encoder) { e.Task(m.Task); e.Uvarint(uint64(m.Need)) }
func (m *StreamWait) UnmarshalWire(d *Decoder) {
	m.Task, m.Need = d.Task(), uint32(d.Count(1<<32-1, 0))
}
func (m *StreamConsumed) MarshalWire(e *Encoder) {
	e.Task(m.Task)
	e.Uvarint(uint64(m.Consumed))
	e.Bool(m.Gone)
}
func (m *StreamConsumed) UnmarshalWire(d *Decoder) {
	m.Task, m.Consumed, m.Gone = d.Task(), uint32(d.Count(1<<32-1, 0)), d.Bool()
}
func (m *StreamEnded) MarshalWire(e *Encoder) { e.Task(m.Task); e.Uvarint(uint64(m.Count)) }
func (m *StreamEnded) UnmarshalWire(d *Decoder) {
	m.Task, m.Count = d.Task(), uint32(d.Count(1<<32-1, 0))
}
