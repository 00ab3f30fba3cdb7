package stmt

import (
	"container/list"
	"sync"

	"sqlgate/internal/wire"
)

// Entry is a prepared statement in the Registry: the metadata a client
// needs in its PREPARE reply, shared by every session that prepares the
// same text as the same user in the same schema. Each backend connection
// prepares it on first use (backend.Conn.Stmts maps the entry's ID to the
// connection's own statement id).
type Entry struct {
	ID      uint32 // given by the Registry
	Key     string // user, schema and text: see Key
	Query   string
	Digest  string
	Comment string
	Info    Info
	// Meta is the PREPARE reply as the first server sent it; its StmtID
	// is that server's and means nothing to a client.
	Meta wire.PrepareOK

	refs int           // sessions holding it
	idle *list.Element // its place in Registry.idle while refs == 0
}

// Key is the registry key of a statement: the same text prepared by the
// same user in the same schema is one statement.
func Key(user, schema, query string) string { return user + "\x00" + schema + "\x00" + query }

// Registry is the global statement cache keyed by user, schema and text.
// Entries no session holds wait in idle, oldest first, so bounding them is
// O(1) per operation however many statements sessions hold. The zero value
// is ready to use.
type Registry struct {
	mu    sync.Mutex
	byKey map[string]*Entry
	idle  list.List // of *Entry with refs == 0
	next  uint32
}

// MaxIdle bounds the metadata kept for statements no session holds any
// more.
const MaxIdle = 10000

// Get returns the entry for key, held for the caller, or nil.
func (r *Registry) Get(key string) *Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byKey[key]
	if e != nil {
		r.hold(e)
	}
	return e
}

// hold takes a reference to e (r.mu held).
func (r *Registry) hold(e *Entry) {
	if e.idle != nil {
		r.idle.Remove(e.idle)
		e.idle = nil
	}
	e.refs++
}

// Add stores e, held for the caller, unless another session stored the
// same statement first, and returns the entry to use.
func (r *Registry) Add(e *Entry) *Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byKey[e.Key]; old != nil {
		r.hold(old)
		return old
	}
	if r.byKey == nil {
		r.byKey = map[string]*Entry{}
	}
	r.next++
	e.ID = r.next
	e.refs = 1
	r.byKey[e.Key] = e
	return e
}

// Release gives back a reference taken by Get or Add.
func (r *Registry) Release(e *Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.refs--; e.refs > 0 {
		return
	}
	e.idle = r.idle.PushBack(e)
	for r.idle.Len() > MaxIdle {
		old := r.idle.Remove(r.idle.Front()).(*Entry)
		old.idle = nil
		if r.byKey[old.Key] == old {
			delete(r.byKey, old.Key)
		}
	}
}
