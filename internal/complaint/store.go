package complaint

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/casefile"
	"amparo/internal/keys"
	"amparo/internal/narrative"
	"amparo/internal/postgres"
)

type args = postgres.Args

type row struct {
	ID              uuid.UUID      `db:"id"`
	Institution     string         `db:"institution_code"`
	Status          string         `db:"status"`
	ComplainantKind string         `db:"complainant_kind"`
	Channel         string         `db:"channel"`
	Description     []byte         `db:"description_sealed"`
	Department      sql.NullString `db:"department_code"`
	EntryPoint      sql.NullString `db:"entry_point_code"`
	OccurredOn      sql.NullTime   `db:"occurred_on"`
	CaseID          uuid.NullUUID  `db:"case_id"`
	SubmittedBy     uuid.UUID      `db:"submitted_by"`
	SubmittedAt     time.Time      `db:"submitted_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
	Violations      pq.StringArray `db:"violations"`
	Children        pq.StringArray `db:"children"`
	Version         int            `db:"version"`
	DueAt           sql.NullTime   `db:"due_at"`
	Perpetrators    pq.StringArray `db:"perpetrator_types"`
	RoutedTo        pq.StringArray `db:"routed_to"`
	Urgency         sql.NullString `db:"urgency"`
	Triaged         pq.StringArray `db:"triaged_violations"`
	Outcome         sql.NullString `db:"outcome"`
	CaseReference   sql.NullString `db:"case_reference"`
}

// columns reads a complaint with its violations and children in one row;
// the subqueries use the primary keys of the child tables.
const columns = `
  k.id, k.institution_code, k.status, k.complainant_kind, k.channel, k.description_sealed, k.department_code,
  k.entry_point_code, k.occurred_on, k.case_id, k.submitted_by, k.submitted_at, k.updated_at,
  ARRAY(SELECT type_code FROM complaint_violations v WHERE v.complaint_id = k.id ORDER BY position) AS violations,
  ARRAY(SELECT child_id::text FROM complaint_children c WHERE c.complaint_id = k.id ORDER BY child_id) AS children,
  k.version, k.due_at, k.perpetrator_types, k.urgency, k.triaged_violations, k.outcome,
  ARRAY(SELECT institution_code FROM complaint_routes r WHERE r.complaint_id = k.id AND r.active ORDER BY institution_code) AS routed_to,
  (SELECT reference FROM cases WHERE id = k.case_id) AS case_reference`

func (r *row) complaint() *Complaint {
	c := &Complaint{
		ID: r.ID, Institution: r.Institution, Status: Status(r.Status), ComplainantKind: ComplainantKind(r.ComplainantKind),
		Channel: Channel(r.Channel), SubmittedBy: r.SubmittedBy, SubmittedAt: r.SubmittedAt,
		UpdatedAt: r.UpdatedAt, Violations: r.Violations, ChildIDs: []uuid.UUID{},
		Version: r.Version, RoutedTo: r.RoutedTo, TriagedViolations: r.Triaged,
		Outcome: optString(r.Outcome), CaseReference: optString(r.CaseReference),
	}
	if r.DueAt.Valid {
		c.DueAt = &r.DueAt.Time
	}
	for _, p := range r.Perpetrators {
		c.PerpetratorTypes = append(c.PerpetratorTypes, casefile.PerpetratorType(p))
	}
	if r.Urgency.Valid {
		u := casefile.Urgency(r.Urgency.String)
		c.Urgency = &u
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

// get reads one complaint, which the guard has let the caller reach, its
// description opened with its data key from v; FOR UPDATE when lock is set.
//
// Errors: sql.ErrNoRows when it does not exist.
func get(ctx context.Context, q sqlx.QueryerContext, v *keys.Vault, id uuid.UUID, lock bool) (*Complaint, error) {
	query := `SELECT` + columns + ` FROM complaints k WHERE k.id = $1`
	if lock {
		query += " FOR UPDATE OF k"
	}
	var r row
	if err := sqlx.GetContext(ctx, q, &r, query, id); err != nil {
		return nil, err
	}
	cs, err := open(ctx, q, v, []row{r})
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// open makes complaints of rows, their descriptions opened with their data
// keys, read in one query: one unwrap per complaint.
func open(ctx context.Context, q sqlx.QueryerContext, v *keys.Vault, rows []row) ([]*Complaint, error) {
	ids := make([]uuid.UUID, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	ks, err := v.GetMany(ctx, q, keys.OwnerComplaint, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Complaint, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = r.complaint()
		if out[i].Description, err = narrative.ComplaintDescription.Text(ks, r.ID, r.ID.String(), r.Description); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func optString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

type newComplaint struct {
	ID           uuid.UUID
	Institution  string
	TrackingHash []byte
	TrackingKey  string
	By           uuid.UUID
	At           time.Time
	In           *SubmitInput
	ChildIDs     []uuid.UUID
	DueAt        *time.Time
}

// insert writes a complaint, its description and complainant sealed under
// its data key k.
func insert(ctx context.Context, tx sqlx.ExecerContext, k keys.DataKey, n *newComplaint) error {
	in := n.In
	row := n.ID.String()
	const q = `
INSERT INTO complaints (id, institution_code, tracking_hash, status, complainant_kind, channel, description_sealed,
  department_code, entry_point_code, occurred_on, submitted_by, submitted_at, updated_at, due_at, perpetrator_types,
  tracking_key)
VALUES ($1, $2, $3, 'RECEIVED', $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14)`
	if _, err := tx.ExecContext(ctx, q, n.ID, n.Institution, n.TrackingHash, in.Complainant.Kind, in.Channel,
		narrative.ComplaintDescription.Seal(k, row, &in.Description), in.DepartmentCode, in.EntryPoint, in.OccurredOn, n.By, n.At, n.DueAt,
		pq.Array(strs(in.PerpetratorTypes)), n.TrackingKey); err != nil {
		return fmt.Errorf("insert complaint: %w", err)
	}
	if in.Complainant.Name != nil || in.Complainant.Contact != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_contacts (complaint_id, name_sealed, contact_sealed) VALUES ($1, $2, $3)`,
			n.ID, narrative.ComplainantName.Seal(k, row, in.Complainant.Name), narrative.ComplainantContact.Seal(k, row, in.Complainant.Contact)); err != nil {
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

// knownChildren returns the care status of those of ids that are children
// of the institution.
func knownChildren(ctx context.Context, q sqlx.QueryerContext, institution string, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	var found []struct {
		ID   uuid.UUID `db:"id"`
		Care string    `db:"care_status"`
	}
	err := sqlx.SelectContext(ctx, q, &found,
		`SELECT id, care_status FROM children WHERE id = ANY($1::uuid[]) AND institution_code = $2`, postgres.UUIDs(ids), institution)
	m := map[uuid.UUID]string{}
	for _, c := range found {
		m[c.ID] = c.Care
	}
	return m, err
}

// route is one institution a complaint is routed to, and why.
type route struct {
	Institution string
	Source      string // RULE, TRIAGE or FORWARD
	Rules       []string
	Reason      *string
}

// addRoutes routes a complaint to institutions (again, when a withdrawn
// route comes back) and returns those it was not already routed to.
func addRoutes(ctx context.Context, tx sqlx.ExecerContext, id, by uuid.UUID, at time.Time, routes []route) (added []string, err error) {
	const q = `
INSERT INTO complaint_routes (complaint_id, institution_code, active, source, rules, reason, routed_by, routed_at)
VALUES ($1, $2, true, $3, $4, $5, $6, $7)
ON CONFLICT (complaint_id, institution_code) DO UPDATE SET active = true, source = excluded.source,
  rules = excluded.rules, reason = excluded.reason, routed_by = excluded.routed_by, routed_at = excluded.routed_at,
  withdrawn_at = NULL
WHERE NOT complaint_routes.active`
	for _, r := range routes {
		rules := r.Rules
		if rules == nil {
			rules = []string{}
		}
		res, err := tx.ExecContext(ctx, q, id, r.Institution, r.Source, pq.Array(rules), r.Reason, by, at)
		if err != nil {
			return nil, fmt.Errorf("route complaint: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			added = append(added, r.Institution)
		}
	}
	return added, nil
}

// withdrawRoutes withdraws the complaint's active routes to the
// institutions listed, or to all but them (except).
func withdrawRoutes(ctx context.Context, tx sqlx.ExecerContext, id uuid.UUID, at time.Time, institutions []string, except bool) error {
	q := `UPDATE complaint_routes SET active = false, withdrawn_at = $3
WHERE complaint_id = $1 AND active AND institution_code = ANY($2)`
	if except {
		q = `UPDATE complaint_routes SET active = false, withdrawn_at = $3
WHERE complaint_id = $1 AND active AND NOT (institution_code = ANY($2))`
	}
	if _, err := tx.ExecContext(ctx, q, id, pq.Array(institutions), at); err != nil {
		return fmt.Errorf("withdraw routes: %w", err)
	}
	return nil
}

func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}
