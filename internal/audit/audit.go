// Package audit writes Amparo's audit trail: one event per change, identity
// read, download URL issued or refused authorization, written by Record in
// the caller's own transaction so that a change and its event commit or
// vanish together.
//
// Events carry ids and hashes only. Names, dates of birth and free text about
// a child never enter the trail: the trail is read by oversight bodies that
// are not entitled to a child's identity.
//
// The trail is tamper-evident, in the manner of Certificate Transparency:
//
//   - A Sealer (one leader among the replicas) makes each committed event, in
//     id order, a leaf of an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog),
//     keeping the event's canonical encoding (Entry.Encode) exactly as hashed.
//     Writers take no lock for it: sealing follows commits by a fraction of a
//     second.
//   - It signs checkpoints of the tree (C2SP tlog-checkpoint notes, Ed25519)
//     and writes each to a CheckpointStore, a bucket whose objects are locked
//     in compliance mode, before the database: whoever rewrites the database
//     cannot rewrite what was checkpointed.
//   - Verify rebuilds the tree and checks every event, leaf, checkpoint and
//     locked copy, naming the first bad event; `amparo audit verify` runs it.
//   - Service lists events for oversight and hands out inclusion proofs that
//     VerifyProof checks without the server.
package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/postgres"
	"amparo/internal/request"
)

// Outcome of the audited action.
type Outcome string

// Outcomes.
const (
	Success Outcome = "SUCCESS"
	Denied  Outcome = "DENIED"
)

// Event is one audited action. Actor and request fields are filled from the
// context by Record.
type Event struct {
	Action     string // resource:action, such as "case:file"
	ObjectType string // "case", "evidence", "user", ...
	ObjectID   string
	Outcome    Outcome        // Success when empty
	Details    map[string]any // ids and hashes only
}

// actorOf is who acts in ctx, as the events record it: no actor (the
// system) when no principal is signed in.
func actorOf(ctx context.Context) (actor *uuid.UUID, inst string, roles []string) {
	roles = []string{}
	if p, ok := auth.From(ctx); ok {
		actor, inst, roles = &p.UserID, p.Institution, p.Roles
	}
	return actor, inst, roles
}

// columns are ev's outcome (SUCCESS when not said) and details (an empty
// object when none), as stored.
func (ev Event) columns() (outcome string, details []byte, err error) {
	if ev.Outcome == "" {
		ev.Outcome = Success
	}
	details = []byte("{}")
	if len(ev.Details) > 0 {
		if details, err = json.Marshal(ev.Details); err != nil {
			return "", nil, fmt.Errorf("audit: details: %w", err)
		}
	}
	return string(ev.Outcome), details, nil
}

// Record inserts ev in tx, with the actor from the principal in ctx and the
// request id and client address from the request metadata.
func Record(ctx context.Context, tx sqlx.ExecerContext, ev Event) error {
	const q = `
INSERT INTO audit.events
  (actor_id, actor_institution, actor_roles, action, object_type, object_id, outcome, request_id, client_addr, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	actor, inst, roles := actorOf(ctx)
	outcome, details, err := ev.columns()
	if err != nil {
		return err
	}
	meta := request.From(ctx)
	_, err = tx.ExecContext(ctx, q, actor, inst, pq.Array(roles), ev.Action, ev.ObjectType, ev.ObjectID,
		outcome, meta.ID, meta.ClientAddr, details)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", ev.Action, err)
	}
	return nil
}

// RecordMany is Record for many events of the same caller in one
// statement, for a batch of reads audited one event each (a list's
// identities).
func RecordMany(ctx context.Context, tx sqlx.ExecerContext, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	const q = `
INSERT INTO audit.events
  (actor_id, actor_institution, actor_roles, action, object_type, object_id, outcome, request_id, client_addr, details)
SELECT $1, $2, $3, e.action, e.object_type, e.object_id, e.outcome, $4, $5, e.details
FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[]) WITH ORDINALITY
  AS e(action, object_type, object_id, outcome, details, n)
ORDER BY e.n`
	actor, inst, roles := actorOf(ctx)
	cols := make([][]string, 5)
	for _, ev := range evs {
		outcome, details, err := ev.columns()
		if err != nil {
			return err
		}
		for i, v := range []string{ev.Action, ev.ObjectType, ev.ObjectID, outcome, string(details)} {
			cols[i] = append(cols[i], v)
		}
	}
	meta := request.From(ctx)
	_, err := tx.ExecContext(ctx, q, actor, inst, pq.Array(roles), meta.ID, meta.ClientAddr,
		pq.Array(cols[0]), pq.Array(cols[1]), pq.Array(cols[2]), pq.Array(cols[3]), pq.Array(cols[4]))
	if err != nil {
		return fmt.Errorf("audit: record %d events: %w", len(evs), err)
	}
	return nil
}

// Denials writes the refusals of the guard (authz.Guard) to the trail, each
// in a transaction of its own: the refused action has none.
type Denials struct{ DB *sqlx.DB }

// Deny implements authz.Denials.
func (d Denials) Deny(ctx context.Context, den authz.Denial) error {
	ev := Event{Action: den.Perm, ObjectType: den.Kind, ObjectID: den.ObjectID, Outcome: Denied,
		Details: map[string]any{"reason": den.Reason}}
	return postgres.WithTx(ctx, d.DB, func(tx *sqlx.Tx) error { return Record(ctx, tx, ev) })
}
