package casefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/postgres"
)

// Permissions of assignment.
const (
	// PermAssign assigns a case to someone.
	PermAssign = "case:assign"
	// PermTake assigns a case to oneself (an officer taking a case from
	// the institution's queue of unassigned cases).
	PermTake = "case:take"
)

// AssignInput assigns a case to a person, by email.
type AssignInput struct {
	CaseID          uuid.UUID
	AssigneeEmail   string
	ExpectedVersion *int
}

// Assign gives a case to an officer or supervisor of the case's
// institution. Assigning to someone else takes case:assign (supervisors);
// assigning to oneself takes case:take (an officer taking a case from the
// queue). The case becomes the assignee's own and stops being the previous
// assignee's. Assigning to whoever already holds it changes nothing.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without the permission (audited);
// NOT_FOUND when the case lies outside the caller's scopes; CONFLICT when
// expectedVersion is given and stale, or the case is closed;
// BAD_USER_INPUT when the email is not of an active officer or supervisor
// of the case's institution.
func (s *Service) Assign(ctx context.Context, in AssignInput) (*Case, error) {
	const op = "casefile.Assign"
	in.AssigneeEmail = strings.ToLower(strings.TrimSpace(in.AssigneeEmail))
	perm := PermAssign
	if p, ok := auth.From(ctx); ok && p.Email == in.AssigneeEmail {
		perm = PermTake
	}
	d, err := s.guard.Check(ctx, perm, authz.Target{Kind: authz.Case, ID: in.CaseID, SeenWith: PermRead})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	if in.AssigneeEmail == "" {
		return nil, &apperr.Error{Op: op, Kind: apperr.Invalid, Field: "assigneeEmail", Msg: apperr.Text{
			ES: "indique a quién se asigna el caso", EN: "say whom the case is assigned to"}}
	}
	now := s.now().UTC()
	var c *Case
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		cur, err := lockCase(ctx, tx, in.CaseID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		if cur.Status == Closed {
			return apperr.New(apperr.Conflict, "un caso cerrado no se asigna: reábralo primero",
				"a closed case is not assigned: reopen it first")
		}
		assignee, err := caseWorker(ctx, tx, in.AssigneeEmail, cur.Institution)
		if err != nil {
			return err
		}
		if cur.AssignedTo != nil && *cur.AssignedTo == assignee {
			c = cur
			return loadViolations(ctx, tx, s.keys.Vault, []*Case{c})
		}
		const q = `UPDATE cases SET assigned_to = $2, version = version + 1, updated_by = $3, updated_at = $4 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, in.CaseID, assignee, p.UserID, now); err != nil {
			return fmt.Errorf("assign case: %w", err)
		}
		if err := insertEvent(ctx, tx, &event{CaseID: in.CaseID, At: now, Actor: p.UserID, Kind: eventAssignment,
			Assignee: &assignee, PreviousAssignee: cur.AssignedTo}); err != nil {
			return err
		}
		details := map[string]any{"assignee": assignee}
		if cur.AssignedTo != nil {
			details["previous"] = *cur.AssignedTo
		}
		if err := s.record(ctx, tx, audit.Event{Action: perm, ObjectType: "case", ObjectID: in.CaseID.String(),
			Details: details}); err != nil {
			return err
		}
		if err := s.alerts.CaseAssigned(ctx, tx, in.CaseID, assignee, string(cur.Urgency)); err != nil {
			return err
		}
		c, err = getCase(ctx, tx, s.keys.Vault, in.CaseID)
		return err
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return c, nil
}

// AssigneeRoles are the roles of whom a case may be assigned to, in the
// case's institution: whoever lists the people a case can be given to
// (user.Staff) names these.
var AssigneeRoles = []string{"officer", "supervisor"}

// caseWorker finds the active officer or supervisor of institution with
// email. This decides whom a case may be given to, not what the caller
// may do: that the guard decided.
//
// Errors: BAD_USER_INPUT when there is none.
func caseWorker(ctx context.Context, q sqlx.QueryerContext, email, institution string) (uuid.UUID, error) {
	const query = `
SELECT u.id FROM users u
WHERE u.email = $1 AND u.institution_code = $2 AND u.disabled_at IS NULL
  AND EXISTS (SELECT 1 FROM role_grants g WHERE g.user_id = u.id AND g.domain = $2 AND g.role = ANY($3::text[]))`
	var id uuid.UUID
	err := sqlx.GetContext(ctx, q, &id, query, email, institution, pq.Array(AssigneeRoles))
	if errors.Is(err, sql.ErrNoRows) {
		return id, &apperr.Error{Kind: apperr.Invalid, Field: "assigneeEmail", Msg: apperr.Text{
			ES: "no hay una funcionaria o funcionario activo de la institución del caso con ese correo",
			EN: "no active officer or supervisor of the case's institution has that email"}}
	}
	if err != nil {
		return id, fmt.Errorf("find assignee: %w", err)
	}
	return id, nil
}

// Assignees returns who is assigned to each of the cases the caller may
// read (a loader batches this); unassigned cases and the others are not in
// the result.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; UNAVAILABLE.
func (s *Service) Assignees(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*auth.Principal, error) {
	_, ids, err := s.guard.Filter(ctx, PermRead, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap("casefile.Assignees", err)
	}
	const q = `
SELECT c.id AS case_id, u.id, u.email, u.display_name FROM cases c JOIN users u ON u.id = c.assigned_to
WHERE c.id = ANY($1::uuid[])`
	var rows []struct {
		CaseID uuid.UUID `db:"case_id"`
		userRow
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, q, postgres.UUIDs(ids)); err != nil {
		return nil, apperr.Wrap("casefile.Assignees", postgres.MapError(err))
	}
	out := make(map[uuid.UUID]*auth.Principal, len(rows))
	for _, r := range rows {
		out[r.CaseID] = r.userRow.principal()
	}
	return out, nil
}

// userRow is a member of staff as cases show them: id, email and name.
type userRow struct {
	ID    uuid.UUID `db:"id"`
	Email string    `db:"email"`
	Name  string    `db:"display_name"`
}

func (u *userRow) principal() *auth.Principal {
	return &auth.Principal{UserID: u.ID, Email: u.Email, Name: u.Name}
}

// Actions is what the caller may do on a case now, for a client to offer
// only that (the service decides every action again when it is asked).
type Actions struct {
	// Take: assign it to oneself. The case waits unassigned, is not
	// closed, and the caller's role holds case:take over it.
	Take bool
	// Assign: give it to someone. The case is not closed and the caller's
	// role holds case:assign over it.
	Assign bool
}

// Actions returns, per case of ids, what the caller's role and scope let
// it do on the case (a loader batches this), decided by the guard's quiet
// Visible over each permission: no audit event, as for an optional field.
// What the case's state allows as well is On's. Cases the caller may not
// act on map to no action.
//
// Errors: BAD_USER_INPUT over authz.MaxBatch ids; UNAVAILABLE.
func (s *Service) Actions(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Actions, error) {
	const op = "casefile.Actions"
	take, err := s.guard.Visible(ctx, PermTake, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	assign, err := s.guard.Visible(ctx, PermAssign, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	out := make(map[uuid.UUID]Actions, len(ids))
	for _, id := range ids {
		out[id] = Actions{Take: take[id], Assign: assign[id]}
	}
	return out, nil
}

// On narrows what a permits to what c's state allows now, as Assign
// decides: nothing on a closed case, and taking only while it waits
// unassigned. c is the case as the request read it, so its state costs no
// second read.
func (a Actions) On(c *Case) Actions {
	open := c.Status != Closed
	return Actions{Take: a.Take && open && c.AssignedTo == nil, Assign: a.Assign && open}
}
