package complaint

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/postgres"
)

type args = postgres.Args

type row struct {
	ID              uuid.UUID      `db:"id"`
	Institution     string         `db:"institution_code"`
	Status          string         `db:"status"`
	ComplainantKind string         `db:"complainant_kind"`
	Channel         string         `db:"channel"`
	Description     string         `db:"description"`
	Department      sql.NullString `db:"department_code"`
	EntryPoint      sql.NullString `db:"entry_point_code"`
	OccurredOn      sql.NullTime   `db:"occurred_on"`
	CaseID          uuid.NullUUID  `db:"case_id"`
	SubmittedBy     uuid.UUID      `db:"submitted_by"`
	SubmittedAt     time.Time      `db:"submitted_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
	Violations      pq.StringArray `db:"violations"`
	Children        pq.StringArray `db:"children"`
}

// columns reads a complaint with its violations and children in one row;
// the subqueries use the primary keys of the child tables.
const columns = `
  k.id, k.institution_code, k.status, k.complainant_kind, k.channel, k.description, k.department_code,
  k.entry_point_code, k.occurred_on, k.case_id, k.submitted_by, k.submitted_at, k.updated_at,
  ARRAY(SELECT type_code FROM complaint_violations v WHERE v.complaint_id = k.id ORDER BY position) AS violations,
  ARRAY(SELECT child_id::text FROM complaint_children c WHERE c.complaint_id = k.id ORDER BY child_id) AS children`

func (r *row) complaint() *Complaint {
	c := &Complaint{
		ID: r.ID, Institution: r.Institution, Status: Status(r.Status), ComplainantKind: ComplainantKind(r.ComplainantKind),
		Channel: Channel(r.Channel), Description: r.Description, SubmittedBy: r.SubmittedBy, SubmittedAt: r.SubmittedAt,
		UpdatedAt: r.UpdatedAt, Violations: r.Violations, ChildIDs: []uuid.UUID{},
	}
	if r.Department.Valid {
		c.Department = &r.Department.String
	}
	if r.EntryPoint.Valid {
		c.EntryPoint = &r.EntryPoint.String
	}
	if r.OccurredOn.Valid {
		c.OccurredOn = &r.OccurredOn.Time
	}
	if r.CaseID.Valid {
		c.CaseID = &r.CaseID.UUID
	}
	for _, s := range r.Children {
		if id, err := uuid.Parse(s); err == nil {
			c.ChildIDs = append(c.ChildIDs, id)
		}
	}
	return c
}

// get reads one complaint, which the guard has let the caller reach; FOR
// UPDATE when lock is set.
//
// Errors: sql.ErrNoRows when it does not exist.
func get(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID, lock bool) (*Complaint, error) {
	query := `SELECT` + columns + ` FROM complaints k WHERE k.id = $1`
	if lock {
		query += " FOR UPDATE OF k"
	}
	var r row
	if err := sqlx.GetContext(ctx, q, &r, query, id); err != nil {
		return nil, err
	}
	return r.complaint(), nil
}

type newComplaint struct {
	ID           uuid.UUID
	Institution  string
	TrackingHash []byte
	By           uuid.UUID
	At           time.Time
	In           *SubmitInput
	ChildIDs     []uuid.UUID
}

func insert(ctx context.Context, tx sqlx.ExecerContext, n *newComplaint) error {
	in := n.In
	const q = `
INSERT INTO complaints (id, institution_code, tracking_hash, status, complainant_kind, channel, description,
  department_code, entry_point_code, occurred_on, submitted_by, submitted_at, updated_at)
VALUES ($1, $2, $3, 'RECEIVED', $4, $5, $6, $7, $8, $9, $10, $11, $11)`
	if _, err := tx.ExecContext(ctx, q, n.ID, n.Institution, n.TrackingHash, in.Complainant.Kind, in.Channel,
		in.Description, in.DepartmentCode, in.EntryPoint, in.OccurredOn, n.By, n.At); err != nil {
		return fmt.Errorf("insert complaint: %w", err)
	}
	if in.Complainant.Name != nil || in.Complainant.Contact != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_contacts (complaint_id, name, contact) VALUES ($1, $2, $3)`,
			n.ID, in.Complainant.Name, in.Complainant.Contact); err != nil {
			return fmt.Errorf("insert complainant: %w", err)
		}
	}
	const qv = `
INSERT INTO complaint_violations (complaint_id, position, type_code)
SELECT $1, v.position - 1, v.code FROM unnest($2::text[]) WITH ORDINALITY AS v(code, position)`
	if _, err := tx.ExecContext(ctx, qv, n.ID, pq.Array(in.Violations)); err != nil {
		return fmt.Errorf("insert complaint violations: %w", err)
	}
	if len(n.ChildIDs) > 0 {
		ids := make([]string, len(n.ChildIDs))
		for i, id := range n.ChildIDs {
			ids[i] = id.String()
		}
		const qc = `
INSERT INTO complaint_children (complaint_id, child_id)
SELECT DISTINCT $1::uuid, unnest($2::uuid[])`
		if _, err := tx.ExecContext(ctx, qc, n.ID, pq.Array(ids)); err != nil {
			return fmt.Errorf("insert complaint children: %w", err)
		}
	}
	return nil
}

// knownChildren counts how many of ids are children of the institution.
func knownChildren(ctx context.Context, q sqlx.QueryerContext, institution string, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	var found []uuid.UUID
	err := sqlx.SelectContext(ctx, q, &found,
		`SELECT id FROM children WHERE id = ANY($1::uuid[]) AND institution_code = $2`, postgres.UUIDs(ids), institution)
	m := map[uuid.UUID]bool{}
	for _, id := range found {
		m[id] = true
	}
	return m, err
}
