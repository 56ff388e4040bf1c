package casefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// Permissions of the workflow.
const (
	// PermTransition moves a case between the steps of case management.
	PermTransition = "case:transition"
	// PermClose decides a closure (approves or rejects it) and reopens.
	PermClose = "case:close"
)

// Move is one allowed change of a case's status and the permission it
// takes, on top of case:transition, which every move needs.
type Move struct {
	From, To Status
	Perm     string
	// Reason: the move must say why in words (a rejection, a reopening).
	Reason bool
	// Meaning is what the move records, for the documentation.
	Meaning string
}

// Moves is the case workflow: every allowed change of status and who may
// make it. README.md's workflow table is this table
// (TestWorkflowTableInREADME renders it and looks for it there).
var Moves = []Move{
	{Registered, Assessment, PermTransition, false, "first contact made; the assessment begins"},
	{Assessment, CasePlan, PermTransition, false, "assessment done; the case plan is drawn up with the child"},
	{CasePlan, Implementation, PermTransition, false, "plan agreed; services and referrals are delivered"},
	{Implementation, FollowUp, PermTransition, false, "plan carried out; follow-up visits check it holds"},
	{FollowUp, Implementation, PermTransition, false, "follow-up finds more to do"},
	{Registered, ClosureRequested, PermTransition, false, "closure asked for, with a closure reason (opened in error, duplicate, ...)"},
	{Assessment, ClosureRequested, PermTransition, false, "closure asked for, with a closure reason"},
	{CasePlan, ClosureRequested, PermTransition, false, "closure asked for, with a closure reason"},
	{Implementation, ClosureRequested, PermTransition, false, "closure asked for, with a closure reason"},
	{FollowUp, ClosureRequested, PermTransition, false, "closure asked for, with a closure reason"},
	{ClosureRequested, Closed, PermClose, false, "a supervisor other than who asked approves the closure; evidence holds are lifted"},
	{ClosureRequested, FollowUp, PermClose, true, "a supervisor rejects the closure, saying why"},
	{Closed, Assessment, PermClose, true, "a supervisor reopens the case, saying why; evidence holds are set again"},
}

func findMove(from, to Status) (*Move, bool) {
	for i := range Moves {
		if Moves[i].From == from && Moves[i].To == to {
			return &Moves[i], true
		}
	}
	return nil, false
}

// ClosureReasons are the reasons a case may be closed for.
var ClosureReasons = []string{"GOAL_MET", "DURABLE_SOLUTION", "TURNED_18_TRANSITION_PLAN", "TRANSFERRED",
	"NO_LONGER_CONTACTABLE", "DEATH", "NO_FURTHER_ACTION", "OPENED_IN_ERROR", "DUPLICATE"}

var closureReasons = apperr.Set(ClosureReasons...)

// NoContactFor is how long a case must have gone without contact before
// it may be closed as NO_LONGER_CONTACTABLE. Contact is the latest of the
// registration, a note and an evidence upload.
const NoContactFor = 90 * 24 * time.Hour

const maxReason = 2000

// TransitionInput moves a case to another status.
type TransitionInput struct {
	CaseID          uuid.UUID
	To              string
	Reason          *string
	ClosureReason   *string
	ExpectedVersion int
}

// TransitionHook runs inside the transaction of every transition, after
// the case is written: what goes with the move (the complaints a case
// answers closing with it) commits or fails with it.
type TransitionHook func(ctx context.Context, tx *sqlx.Tx, c *Case, from Status) error

// OnTransition adds a hook that runs in every transition. Call it while
// wiring, before serving.
func (s *Service) OnTransition(h TransitionHook) { s.hooks = append(s.hooks, h) }

// Holds brings the legal holds of a case's evidence in line with the
// case's status: lifted while it is closed, set otherwise. The evidence
// package implements it; casefile does not touch the object store.
type Holds interface {
	Sync(ctx context.Context, caseID uuid.UUID) error
}

// UseHolds makes transitions that close or reopen a case bring its
// evidence holds in line at once, after commit. Call it while wiring.
func (s *Service) UseHolds(h Holds, log *slog.Logger) { s.holds, s.log = h, log }

// Transition moves a case along the workflow (Moves) and sets the
// deadline of its new step. A closure request needs a closure reason; the
// approval needs a supervisor other than who asked; a rejection and a
// reopening need a reason. Closing lifts the legal hold of the case's
// evidence and reopening sets it again: the change commits first, then the
// object store is told (a failure there is logged and left to the evidence
// janitor, which works from the rows this transaction leaves in
// case_hold_sync).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:transition over the
// case, without case:close for a move that needs it, or when the approver
// asked for the closure themselves (all audited); NOT_FOUND when the case
// lies outside the caller's scopes; CONFLICT when expectedVersion is not
// the case's version (nothing changes); BAD_USER_INPUT for a status that
// is not a move from the current one, a missing or unknown closure reason,
// NO_LONGER_CONTACTABLE before 90 days without contact, a missing reason.
func (s *Service) Transition(ctx context.Context, in TransitionInput) (*Case, error) {
	const op = "casefile.Transition"
	target := authz.Target{Kind: authz.Case, ID: in.CaseID, SeenWith: PermRead}
	d, err := s.guard.Check(ctx, PermTransition, target)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	to := Status(strings.TrimSpace(in.To))
	reason := child.TrimOpt(in.Reason)
	var v apperr.Validation
	if reason != nil {
		v.Text("reason", *reason, maxReason)
	}
	if in.ClosureReason != nil && !closureReasons[*in.ClosureReason] {
		v.Add("closureReason", "motivo de cierre desconocido: "+strings.Join(ClosureReasons, ", "),
			"unknown closure reason: "+strings.Join(ClosureReasons, ", "))
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	now := s.now().UTC()
	var c *Case
	var from Status
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		cur, err := lockCase(ctx, tx, in.CaseID, &in.ExpectedVersion)
		if err != nil {
			return err
		}
		from = cur.Status
		m, ok := findMove(from, to)
		if !ok {
			return &apperr.Error{Kind: apperr.Invalid, Field: "to", Msg: apperr.Text{
				ES: fmt.Sprintf("un caso en %s no pasa a %q; puede pasar a: %s", from, in.To, nextOf(from)),
				EN: fmt.Sprintf("a case in %s does not move to %q; it may move to: %s", from, in.To, nextOf(from))}}
		}
		if m.Perm != PermTransition {
			if _, err := s.guard.Check(ctx, m.Perm, target); err != nil {
				return err
			}
		}
		next := *cur
		next.Status, next.StepStartedAt = to, now
		switch {
		case to == ClosureRequested:
			if in.ClosureReason == nil {
				return &apperr.Error{Kind: apperr.Invalid, Field: "closureReason", Msg: apperr.Text{
					ES: "indique el motivo de cierre", EN: "give the closure reason"}}
			}
			if *in.ClosureReason == "NO_LONGER_CONTACTABLE" {
				last, err := lastContact(ctx, tx, in.CaseID)
				if err != nil {
					return err
				}
				if now.Sub(last) < NoContactFor {
					return &apperr.Error{Kind: apperr.Invalid, Field: "closureReason", Msg: apperr.Text{
						ES: fmt.Sprintf("el último contacto fue el %s: NO_LONGER_CONTACTABLE solo tras 90 días sin contacto", last.In(guatemala).Format(time.DateOnly)),
						EN: fmt.Sprintf("the last contact was on %s: NO_LONGER_CONTACTABLE only after 90 days without contact", last.In(guatemala).Format(time.DateOnly))}}
				}
			}
			next.ClosureReason, next.ClosureRequestedBy = in.ClosureReason, &p.UserID
		case to == Closed:
			if cur.ClosureRequestedBy != nil && *cur.ClosureRequestedBy == p.UserID {
				return s.guard.Refuse(ctx, PermClose, target, &apperr.Error{Kind: apperr.Forbidden, Msg: apperr.Text{
					ES: "otra supervisora o supervisor debe aprobar el cierre que usted pidió",
					EN: "another supervisor must approve the closure you asked for"}})
			}
		default: // a rejection, a reopening, or a step forward
			next.ClosureReason, next.ClosureRequestedBy = nil, nil
		}
		if m.Reason && reason == nil {
			return &apperr.Error{Kind: apperr.Invalid, Field: "reason", Msg: apperr.Text{
				ES: "diga por qué", EN: "say why"}}
		}
		if from == Closed {
			next.CycleStartedAt = now
		}
		next.DueAt = s.dueAt(to, cur.Urgency, now, next.CycleStartedAt)
		const q = `
UPDATE cases SET status = $2, version = version + 1, due_at = $3, step_started_at = $4, cycle_started_at = $5,
  closure_reason = $6, closure_requested_by = $7, updated_by = $8, updated_at = $4
WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, in.CaseID, to, next.DueAt, now, next.CycleStartedAt,
			next.ClosureReason, next.ClosureRequestedBy, p.UserID); err != nil {
			return fmt.Errorf("transition case: %w", err)
		}
		if err := insertEvent(ctx, tx, &event{CaseID: in.CaseID, At: now, Actor: p.UserID, Kind: eventStatus,
			From: &from, To: to, ClosureReason: next.ClosureReason, Reason: reason}); err != nil {
			return err
		}
		details := map[string]any{"from": from, "to": to}
		if next.ClosureReason != nil {
			details["closureReason"] = *next.ClosureReason
		}
		if err := s.record(ctx, tx, audit.Event{Action: PermTransition, ObjectType: "case", ObjectID: in.CaseID.String(),
			Details: details}); err != nil {
			return err
		}
		if holdsChange(from, to) {
			const qh = `
INSERT INTO case_hold_sync (case_id, requested_at) VALUES ($1, $2)
ON CONFLICT (case_id) DO UPDATE SET requested_at = excluded.requested_at`
			if _, err := tx.ExecContext(ctx, qh, in.CaseID, now); err != nil {
				return fmt.Errorf("request hold sync: %w", err)
			}
		}
		if c, err = getCase(ctx, tx, s.keys.Vault, in.CaseID); err != nil {
			return err
		}
		if to == ClosureRequested {
			if err := s.alerts.ClosureRequested(ctx, tx, in.CaseID, c.Institution, string(c.Urgency)); err != nil {
				return err
			}
		}
		for _, h := range s.hooks {
			if err := h(ctx, tx, c, from); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if holdsChange(from, to) && s.holds != nil {
		// Committed: the holds follow. Should the store fail now, the case
		// stays in case_hold_sync and the evidence janitor retries.
		if err := s.holds.Sync(ctx, in.CaseID); err != nil {
			s.log.WarnContext(ctx, "evidence holds not brought in line yet; the evidence janitor will",
				"case", in.CaseID, "status", to, "err", err)
		}
	}
	return c, nil
}

// holdsChange reports whether a move changes whether the case's evidence is
// under legal hold: it is while the case is not closed.
func holdsChange(from, to Status) bool { return (from == Closed) != (to == Closed) }

func nextOf(from Status) string {
	var out []string
	for _, m := range Moves {
		if m.From == from {
			out = append(out, string(m.To))
		}
	}
	return strings.Join(out, ", ")
}

// dueAt is the deadline of step for a case of urgency u whose step began
// at stepStart and whose cycle (registration or reopening) at cycleStart;
// nil when the step has none (a closed case).
func (s *Service) dueAt(step Status, u Urgency, stepStart, cycleStart time.Time) *time.Time {
	r, ok := s.catalog.Deadline("case", string(step), string(u))
	if !ok {
		return nil
	}
	anchor := stepStart
	if r.Anchor == reference.AnchorCycle {
		anchor = cycleStart
	}
	t := s.catalog.Due(r, anchor, guatemala)
	return &t
}

// lockCase reads a case for a change, locked until commit, and checks the
// version the caller last read when they give one.
//
// Errors: NOT_FOUND (the guard let the caller through, so the case exists:
// only a race with nothing could cause it); CONFLICT when expected is not
// the case's version.
func lockCase(ctx context.Context, tx *sqlx.Tx, id uuid.UUID, expected *int) (*Case, error) {
	const q = `SELECT` + caseColumns + `
FROM cases c JOIN children ch ON ch.id = c.child_id
WHERE c.id = $1 FOR UPDATE OF c`
	var r caseRow
	if err := tx.GetContext(ctx, &r, q, id); errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound)
	} else if err != nil {
		return nil, fmt.Errorf("lock case: %w", err)
	}
	if expected != nil && *expected != r.Version {
		return nil, &apperr.Error{Kind: apperr.Conflict, Field: "expectedVersion", Msg: apperr.Text{
			ES: fmt.Sprintf("el caso cambió desde que lo leyó (versión %d, ahora %d): vuelva a leerlo", *expected, r.Version),
			EN: fmt.Sprintf("the case changed since you read it (version %d, now %d): read it again", *expected, r.Version)}}
	}
	return r.toCase(), nil
}

// lastContact is the latest contact on record with a case: its
// registration, a note or an evidence upload.
func lastContact(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID) (time.Time, error) {
	const query = `
SELECT greatest(c.cycle_started_at,
  (SELECT max(created_at) FROM case_notes WHERE case_id = c.id),
  (SELECT max(uploaded_at) FROM evidence WHERE case_id = c.id))
FROM cases c WHERE c.id = $1`
	var t time.Time
	if err := sqlx.GetContext(ctx, q, &t, query, id); err != nil {
		return t, fmt.Errorf("last contact: %w", err)
	}
	return t, nil
}

// Kinds of case_events rows.
const (
	eventStatus     = "STATUS"
	eventAssignment = "ASSIGNMENT"
)

// event is one row of a case's history.
type event struct {
	CaseID           uuid.UUID
	At               time.Time
	Actor            uuid.UUID
	Kind             string
	From             *Status
	To               Status
	ClosureReason    *string
	Assignee         *uuid.UUID
	PreviousAssignee *uuid.UUID
	Reason           *string
}

func insertEvent(ctx context.Context, tx sqlx.ExecerContext, e *event) error {
	const q = `
INSERT INTO case_events (id, case_id, at, actor_id, kind, from_status, to_status, closure_reason, assignee_id,
  previous_assignee_id, reason)
VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $10, $11)`
	if _, err := tx.ExecContext(ctx, q, uuid.New(), e.CaseID, e.At, e.Actor, e.Kind, e.From, e.To, e.ClosureReason,
		e.Assignee, e.PreviousAssignee, e.Reason); err != nil {
		return fmt.Errorf("insert case event: %w", err)
	}
	return nil
}
