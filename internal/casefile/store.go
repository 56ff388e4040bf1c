package casefile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/narrative"
	"amparo/internal/postgres"
)

// args collects positional query arguments.
type args = postgres.Args

type caseRow struct {
	ID               uuid.UUID      `db:"id"`
	Institution      string         `db:"institution_code"`
	Reference        sql.NullString `db:"reference"` // NULL only inside the transaction that files it
	Status           string         `db:"status"`
	Urgency          string         `db:"urgency"`
	DueAt            sql.NullTime   `db:"due_at"`
	StepStartedAt    time.Time      `db:"step_started_at"`
	CycleStartedAt   time.Time      `db:"cycle_started_at"`
	ClosureReason    sql.NullString `db:"closure_reason"`
	ClosureBy        uuid.NullUUID  `db:"closure_requested_by"`
	ErasedAt         sql.NullTime   `db:"identity_erased_at"`
	Department       string         `db:"department_code"`
	Municipality     sql.NullString `db:"municipality"`
	EntryPoint       sql.NullString `db:"entry_point_code"`
	SummarySealed    []byte         `db:"summary_sealed"`
	AssignedTo       uuid.NullUUID  `db:"assigned_to"`
	Version          int            `db:"version"`
	CreatedBy        uuid.UUID      `db:"created_by"`
	CreatedAt        time.Time      `db:"created_at"`
	UpdatedBy        uuid.UUID      `db:"updated_by"`
	UpdatedAt        time.Time      `db:"updated_at"`
	ChildID          uuid.UUID      `db:"child_id"`
	AgeYears         sql.NullInt32  `db:"age_years"`
	AgeBand          sql.NullString `db:"age_band"`
	Sex              string         `db:"sex"`
	Nationality      string         `db:"nationality"`
	PopulationStatus string         `db:"population_status"`
	CareStatus       string         `db:"care_status"`
	Vulnerabilities  pq.StringArray `db:"vulnerabilities"`
	Languages        pq.StringArray `db:"languages"`
}

const caseColumns = `
  c.id, c.institution_code, c.reference, c.status, c.urgency, c.due_at, c.department_code,
  c.municipality, c.entry_point_code, c.summary_sealed, c.assigned_to, c.version,
  c.step_started_at, c.cycle_started_at, c.closure_reason, c.closure_requested_by, c.identity_erased_at,
  c.created_by, c.created_at, c.updated_by, c.updated_at,
  ch.id AS child_id, ch.age_years, ch.age_band, ch.sex, ch.nationality, ch.population_status,
  ch.care_status, ch.vulnerabilities, ch.languages`

func (r *caseRow) toCase() *Case {
	c := &Case{
		ID: r.ID, Institution: r.Institution, Reference: r.Reference.String, Status: Status(r.Status),
		Urgency: Urgency(r.Urgency), Department: r.Department, summarySealed: r.SummarySealed,
		StepStartedAt: r.StepStartedAt, CycleStartedAt: r.CycleStartedAt, ClosureReason: optString(r.ClosureReason),
		Version: r.Version, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt,
		Child: child.Child{
			ID: r.ChildID, Sex: child.Sex(r.Sex), Nationality: r.Nationality, PopulationStatus: child.PopulationStatus(r.PopulationStatus),
			CareStatus: child.CareStatus(r.CareStatus), Vulnerabilities: r.Vulnerabilities, Languages: r.Languages, CaseID: r.ID,
		},
	}
	if r.Municipality.Valid {
		c.Municipality = &r.Municipality.String
	}
	if r.EntryPoint.Valid {
		c.EntryPoint = &r.EntryPoint.String
	}
	if r.AssignedTo.Valid {
		c.AssignedTo = &r.AssignedTo.UUID
	}
	if r.DueAt.Valid {
		c.DueAt = &r.DueAt.Time
	}
	if r.ClosureBy.Valid {
		c.ClosureRequestedBy = &r.ClosureBy.UUID
	}
	if r.ErasedAt.Valid {
		c.IdentityErasedAt = &r.ErasedAt.Time
	}
	if r.AgeYears.Valid {
		n := int(r.AgeYears.Int32)
		c.Child.AgeYears = &n
	}
	if r.AgeBand.Valid {
		b := child.AgeBand(r.AgeBand.String)
		c.Child.AgeBand = &b
	}
	return c
}

// readCase is one case with its child, its violations and its data key, in
// one statement: the violations come as a JSON array in position order
// (their sealed descriptions in base64), the wrapped data key beside the
// case (NULL once erased), unwrapped by keys.Vault.Open. Service.Get runs it
// prepared (postgres.Statements): issue 14 wants a case read to be one
// statement, planned once per connection.
const readCase = `SELECT` + caseColumns + `, dk.kek_id AS key_kek, dk.wrapped AS key_wrapped,
  coalesce((SELECT json_agg(json_build_object('position', v.position, 'type_code', v.type_code,
      'occurred_on', v.occurred_on, 'occurred_precision', v.occurred_precision, 'journey_stage', v.journey_stage,
      'perpetrator_type', v.perpetrator_type, 'trafficking_purpose', v.trafficking_purpose,
      'discrimination_ground', v.discrimination_ground, 'description_sealed', encode(v.description_sealed, 'base64'))
      ORDER BY v.position)
    FROM case_violations v WHERE v.case_id = c.id), '[]') AS violations
FROM cases c JOIN children ch ON ch.id = c.child_id
LEFT JOIN data_keys dk ON dk.owner_kind = 'case' AND dk.owner_id = c.id
WHERE c.id = $1`

// caseRead is a row of readCase.
type caseRead struct {
	caseRow
	KEK        sql.NullString `db:"key_kek"`
	Wrapped    []byte         `db:"key_wrapped"`
	Violations []byte         `db:"violations"`
}

// violationJSON is one violation of readCase's array.
type violationJSON struct {
	Position        int     `json:"position"`
	Type            string  `json:"type_code"`
	OccurredOn      *string `json:"occurred_on"` // YYYY-MM-DD
	Precision       *string `json:"occurred_precision"`
	JourneyStage    *string `json:"journey_stage"`
	PerpetratorType *string `json:"perpetrator_type"`
	Purpose         *string `json:"trafficking_purpose"`
	Ground          *string `json:"discrimination_ground"`
	Description     []byte  `json:"description_sealed"` // base64; line breaks are ignored
}

// getCase reads one case in one statement (readCase), its narratives opened
// with its data key from v. The guard has decided that the caller may.
//
// Errors: sql.ErrNoRows when it does not exist.
func getCase(ctx context.Context, q sqlx.QueryerContext, v *keys.Vault, id uuid.UUID) (*Case, error) {
	var r caseRead
	if err := sqlx.GetContext(ctx, q, &r, readCase, id); err != nil {
		return nil, err
	}
	var vs []violationJSON
	if err := json.Unmarshal(r.Violations, &vs); err != nil {
		return nil, fmt.Errorf("case %s: violations: %w", r.ID, err)
	}
	rows := make([]violationRow, len(vs))
	for i, j := range vs {
		rows[i] = violationRow{CaseID: r.ID, Position: j.Position, Type: j.Type, Precision: nullString(j.Precision),
			JourneyStage: nullString(j.JourneyStage), PerpetratorType: nullString(j.PerpetratorType),
			Purpose: nullString(j.Purpose), Ground: nullString(j.Ground), Description: j.Description}
		if j.OccurredOn != nil {
			t, err := time.Parse(time.DateOnly, *j.OccurredOn)
			if err != nil {
				return nil, fmt.Errorf("case %s: violation %d: %w", r.ID, j.Position, err)
			}
			rows[i].OccurredOn = sql.NullTime{Time: t, Valid: true}
		}
	}
	ks := map[uuid.UUID]keys.DataKey{}
	switch k, err := v.Open(ctx, keys.OwnerCase, r.ID, r.KEK.String, r.Wrapped); {
	case err == nil:
		ks[r.ID] = k
	case !errors.Is(err, keys.ErrNoKey): // erased: its narratives open to nothing
		return nil, err
	}
	c := r.toCase()
	c.Violations = []Violation{}
	return c, openNarratives(ks, map[uuid.UUID]*Case{c.ID: c}, rows)
}

// getCases reads many cases (at most authz.MaxBatch) with their violations,
// in two queries, and their data keys in a third.
func getCases(ctx context.Context, q sqlx.QueryerContext, v *keys.Vault, ids []uuid.UUID) ([]*Case, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	const query = `SELECT` + caseColumns + `
FROM cases c JOIN children ch ON ch.id = c.child_id
WHERE c.id = ANY($1::uuid[])`
	var rows []caseRow
	if err := sqlx.SelectContext(ctx, q, &rows, query, postgres.UUIDs(ids)); err != nil {
		return nil, err
	}
	cases := make([]*Case, len(rows))
	for i := range rows {
		cases[i] = rows[i].toCase()
	}
	return cases, loadViolations(ctx, q, v, cases)
}

type violationRow struct {
	CaseID          uuid.UUID      `db:"case_id"`
	Type            string         `db:"type_code"`
	OccurredOn      sql.NullTime   `db:"occurred_on"`
	Precision       sql.NullString `db:"occurred_precision"`
	JourneyStage    sql.NullString `db:"journey_stage"`
	PerpetratorType sql.NullString `db:"perpetrator_type"`
	Purpose         sql.NullString `db:"trafficking_purpose"`
	Ground          sql.NullString `db:"discrimination_ground"`
	Position        int            `db:"position"`
	Description     []byte         `db:"description_sealed"`
}

// loadViolations fills the violations of the cases in one query, and opens
// their narratives (summary, violation descriptions) with the cases' data
// keys, read in one more query: one unwrap per case. With a nil v, it reads
// no key and the narratives stay empty (List's WithoutNarratives).
func loadViolations(ctx context.Context, q sqlx.QueryerContext, v *keys.Vault, cases []*Case) error {
	if len(cases) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(cases))
	byID := make(map[uuid.UUID]*Case, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
		byID[c.ID] = c
		c.Violations = []Violation{}
	}
	query := violationsQuery
	if v == nil {
		query = violationsQueryUnsealed
	}
	rows := make([]violationRow, 0, 2*len(cases))
	if err := sqlx.SelectContext(ctx, q, &rows, query, postgres.UUIDs(ids)); err != nil {
		return fmt.Errorf("load violations: %w", err)
	}
	ks := map[uuid.UUID]keys.DataKey{} // none: nothing opens
	if v != nil {
		var err error
		if ks, err = v.GetMany(ctx, q, keys.OwnerCase, ids); err != nil {
			return err
		}
	}
	return openNarratives(ks, byID, rows)
}

const violationsQuery = `
SELECT case_id, position, type_code, occurred_on, occurred_precision, journey_stage, perpetrator_type,
  trafficking_purpose, discrimination_ground, description_sealed
FROM case_violations WHERE case_id = ANY($1) ORDER BY case_id, position`

// violationsQueryUnsealed and caseColumnsUnsealed read no sealed text, for
// a page that opens none (WithoutNarratives): a sealed text is the larger
// part of its row, sent as hex and decoded for nothing.
var (
	violationsQueryUnsealed = strings.Replace(violationsQuery, "description_sealed", "NULL::bytea AS description_sealed", 1)
	caseColumnsUnsealed     = strings.Replace(caseColumns, "c.summary_sealed", "NULL::bytea AS summary_sealed", 1)
)

// openNarratives opens the summaries of the cases with their data keys in
// ks, and appends to each case its violations from rows (in position
// order), their descriptions opened too. A case without a key in ks
// (erased) opens to no narratives.
func openNarratives(ks map[uuid.UUID]keys.DataKey, byID map[uuid.UUID]*Case, rows []violationRow) error {
	// A page that shows no narrative read no key (WithoutNarratives): skip
	// naming each row's place, which is what opening would cost it.
	sealed := len(ks) > 0
	var err error
	for _, c := range byID {
		if sealed {
			if c.Summary, err = narrative.CaseSummary.Text(ks, c.ID, c.ID.String(), c.summarySealed); err != nil {
				return err
			}
		}
		c.summarySealed = nil
	}
	for _, r := range rows {
		var desc *string
		if sealed {
			if desc, err = narrative.ViolationDescription.Open(ks, r.CaseID, narrative.ViolationRow(r.CaseID, r.Position), r.Description); err != nil {
				return err
			}
		}
		v := Violation{Type: r.Type, TraffickingPurpose: optString(r.Purpose),
			DiscriminationGround: optString(r.Ground), Description: desc}
		if r.OccurredOn.Valid {
			t := r.OccurredOn.Time
			p := DatePrecision(r.Precision.String)
			v.OccurredOn, v.OccurredOnPrecision = &t, &p
		}
		if r.JourneyStage.Valid {
			s := JourneyStage(r.JourneyStage.String)
			v.JourneyStage = &s
		}
		if r.PerpetratorType.Valid {
			s := PerpetratorType(r.PerpetratorType.String)
			v.PerpetratorType = &s
		}
		c := byID[r.CaseID]
		c.Violations = append(c.Violations, v)
	}
	return nil
}

// getIdentity opens the identity of the child of case caseID. The guard
// has decided that the caller may.
//
// Errors: sql.ErrNoRows when there is none; keys.ErrNoKey when it was
// erased.
func getIdentity(ctx context.Context, q sqlx.QueryerContext, ks child.Keys, caseID uuid.UUID) (*child.Identity, uuid.UUID, error) {
	var childID uuid.UUID
	if err := sqlx.GetContext(ctx, q, &childID, `SELECT child_id FROM cases WHERE id = $1`, caseID); err != nil {
		return nil, uuid.Nil, err
	}
	id, err := child.ReadIdentity(ctx, q, ks, childID)
	return id, childID, err
}

// getSummary opens the summary of case caseID. The guard has decided that
// the caller may read it.
func getSummary(ctx context.Context, q sqlx.QueryerContext, v *keys.Vault, caseID uuid.UUID) (string, error) {
	var sealed []byte
	if err := sqlx.GetContext(ctx, q, &sealed, `SELECT summary_sealed FROM cases WHERE id = $1`, caseID); err != nil {
		return "", err
	}
	ks, err := v.GetMany(ctx, q, keys.OwnerCase, []uuid.UUID{caseID})
	if err != nil {
		return "", err
	}
	return narrative.CaseSummary.Text(ks, caseID, caseID.String(), sealed)
}

// newCase is everything insertCase writes.
type newCase struct {
	ID, ChildID uuid.UUID
	Institution string
	By          uuid.UUID
	At          time.Time
	DueAt       *time.Time // of the first step
	In          *FileInput
	Key         keys.DataKey // the case's data key, sealing its narratives
}

// insertCase writes the case, not yet numbered (reference NULL), and its
// violations and first timeline entries, the narratives sealed under the
// case's data key. numberCase numbers it, last.
func insertCase(ctx context.Context, tx sqlx.ExtContext, n *newCase) error {
	in := n.In
	var assignee *uuid.UUID
	if !in.Unassigned {
		assignee = &n.By
	}
	const qCase = `
INSERT INTO cases (id, institution_code, reference, status, urgency, due_at, department_code, municipality,
  entry_point_code, summary_sealed, child_id, assigned_to, created_by, created_at, updated_by, updated_at,
  step_started_at, cycle_started_at)
VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, $13, $11, $12, $11, $12, $12, $12)`
	if _, err := tx.ExecContext(ctx, qCase, n.ID, n.Institution, Registered, in.Urgency, n.DueAt,
		in.DepartmentCode, in.Municipality, in.EntryPoint, narrative.CaseSummary.Seal(n.Key, n.ID.String(), &in.Summary), n.ChildID, n.By, n.At, assignee); err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	if err := insertEvent(ctx, tx, &event{CaseID: n.ID, At: n.At, Actor: n.By, Kind: eventStatus, To: Registered}); err != nil {
		return err
	}
	if assignee != nil {
		if err := insertEvent(ctx, tx, &event{CaseID: n.ID, At: n.At, Actor: n.By, Kind: eventAssignment, Assignee: assignee}); err != nil {
			return err
		}
	}
	const qViolation = `
INSERT INTO case_violations (case_id, position, type_code, occurred_on, occurred_precision, journey_stage,
  perpetrator_type, trafficking_purpose, discrimination_ground, description_sealed)
SELECT $1, v.position - 1, v.type_code, v.occurred_on, v.precision, v.journey_stage, v.perpetrator_type,
  v.purpose, v.ground, NULLIF(v.description, ''::bytea)
FROM unnest($2::text[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[])
  WITH ORDINALITY AS v(type_code, occurred_on, precision, journey_stage, perpetrator_type, purpose, ground, description, position)`
	cols := make([][]sql.NullString, 7)
	descriptions := make([][]byte, len(in.Violations))
	for p, v := range in.Violations {
		for i, x := range []*string{&v.Type, dateString(v.OccurredOn), (*string)(v.OccurredOnPrecision),
			(*string)(v.JourneyStage), (*string)(v.PerpetratorType), v.TraffickingPurpose, v.DiscriminationGround} {
			cols[i] = append(cols[i], nullString(x))
		}
		descriptions[p] = narrative.ViolationDescription.Seal(n.Key, narrative.ViolationRow(n.ID, p), v.Description)
	}
	arrays := []any{n.ID}
	for _, c := range cols {
		arrays = append(arrays, pq.Array(c))
	}
	arrays = append(arrays, pq.ByteaArray(descriptions))
	if _, err := tx.ExecContext(ctx, qViolation, arrays...); err != nil {
		return fmt.Errorf("insert violations: %w", err)
	}
	return nil
}

// numberCase gives the case written by insertCase its reference, the next
// number of its institution's counter for the year (PGN-2026-000123), in
// one statement. References are gapless: a number is taken only by a
// transaction that commits. The counter's row stays locked until commit,
// and every other filing of the institution waits for it, so this must be
// the transaction's last statement: the lock is then held for this
// statement and the commit only (migration 00080 refuses a commit that
// leaves a case unnumbered).
func numberCase(ctx context.Context, tx sqlx.QueryerContext, n *newCase) (string, error) {
	const q = `
WITH seq AS (
  INSERT INTO case_counters (institution_code, year, last) VALUES ($2, $3, 1)
  ON CONFLICT (institution_code, year) DO UPDATE SET last = case_counters.last + 1
  RETURNING last)
UPDATE cases c SET reference = format('%s-%s-%s', $2::text, $3::int, lpad(seq.last::text, 6, '0'))
FROM seq WHERE c.id = $1
RETURNING c.reference`
	var ref string
	if err := sqlx.GetContext(ctx, tx, &ref, q, n.ID, n.Institution, n.At.In(guatemala).Year()); err != nil {
		return "", fmt.Errorf("number case: %w", err)
	}
	return ref, nil
}

func optString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func dateString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}
