package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// seeder writes realistic synthetic cases straight into the database with
// COPY, for measuring at the size of a country: a million cases take
// minutes, where filing them through the API would take hours. The rows
// are what fileCase writes (a child with no identity and a case with no
// summary, since both are sealed under keys the seeder does not hold; the case numbered
// from the institution's counter, its violations, its registration in the
// timeline); the run itself is one audit event.
type seeder struct {
	db  *sqlx.DB
	rng *rand.Rand

	institutions []seedInstitution
	departments  []string
	entryPoints  []string
	types        []string
}

type seedInstitution struct {
	code  string
	staff []uuid.UUID // officers and supervisors: filers and assignees
}

// seedBatch is how many cases one transaction writes.
const seedBatch = 10_000

func newSeeder(ctx context.Context, db *sqlx.DB, seed uint64) (*seeder, error) {
	s := &seeder{db: db, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	var staff []struct {
		Inst string    `db:"institution_code"`
		ID   uuid.UUID `db:"id"`
	}
	if err := db.SelectContext(ctx, &staff, `SELECT u.institution_code, u.id FROM users u
JOIN role_grants g ON g.user_id = u.id AND g.domain = u.institution_code AND g.role IN ('officer', 'supervisor')
WHERE u.disabled_at IS NULL ORDER BY 1, 2`); err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	for _, r := range staff {
		if n := len(s.institutions); n == 0 || s.institutions[n-1].code != r.Inst {
			s.institutions = append(s.institutions, seedInstitution{code: r.Inst})
		}
		last := &s.institutions[len(s.institutions)-1]
		last.staff = append(last.staff, r.ID)
	}
	if len(s.institutions) == 0 {
		return nil, fmt.Errorf("no institution has officers or supervisors to file cases")
	}
	for q, dst := range map[string]*[]string{
		`SELECT code FROM departments ORDER BY code`:     &s.departments,
		`SELECT code FROM entry_points ORDER BY code`:    &s.entryPoints,
		`SELECT code FROM violation_types ORDER BY code`: &s.types,
	} {
		if err := db.SelectContext(ctx, dst, q); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Weights of the synthetic population: border departments and urgent cases
// are over-represented, as they are at the border.
var (
	borderDepartments = []string{"GT-13", "GT-12", "GT-17", "GT-18", "GT-02", "GT-20", "GT-01"}
	urgencies         = []string{"IMMEDIATE", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW"}
	statuses          = []string{"REGISTERED", "REGISTERED", "ASSESSMENT", "ASSESSMENT", "CASE_PLAN", "IMPLEMENTATION",
		"IMPLEMENTATION", "FOLLOW_UP", "FOLLOW_UP", "CLOSURE_REQUESTED", "CLOSED", "CLOSED", "CLOSED"}
	sexes        = []string{"FEMALE", "MALE", "FEMALE", "MALE", "OTHER", "UNKNOWN"}
	nationals    = []string{"GTM", "GTM", "GTM", "HND", "HND", "SLV", "NIC", "VEN", "HTI", "CUB", "COL", "ECU", "XXX"}
	populations  = []string{"RETURNEE", "RETURNEE", "MIGRANT_TRANSIT", "MIGRANT_TRANSIT", "ASYLUM_SEEKER", "REFUGEE", "IDP", "NATIONAL_HOST", "STATELESS", "OTHER"}
	cares        = []string{"UNACCOMPANIED", "UNACCOMPANIED", "SEPARATED", "WITH_FAMILY", "WITH_FAMILY"}
	stages       = []string{"ORIGIN", "TRANSIT", "TRANSIT", "BORDER", "DETENTION_OR_HOLDING", "DESTINATION", "RETURN_RECEPTION"}
	perpetrators = []string{"FAMILY_CAREGIVER", "COMMUNITY_MEMBER", "CRIMINAL_GROUP", "SMUGGLER_TRAFFICKER", "EMPLOYER",
		"STATE_POLICE", "STATE_MIGRATION", "STATE_OTHER_OFFICIAL", "UNKNOWN"}
	closures = []string{"GOAL_MET", "DURABLE_SOLUTION", "TRANSFERRED", "NO_FURTHER_ACTION", "TURNED_18_TRANSITION_PLAN"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func ageBand(age int) string {
	switch {
	case age <= 5:
		return "AGE_0_5"
	case age <= 12:
		return "AGE_6_12"
	}
	return "AGE_13_17"
}

// guatemala is the country's time, in which case references are numbered.
var guatemala = time.FixedZone("America/Guatemala", -6*60*60)

// seedSpan is how far back the seeded cases go.
const seedSpan = 3 * 365 * 24 * time.Hour

// Seed writes n cases, spread over the last three years, in batches, and
// reports progress to out. The cases are written in the order they were
// filed, oldest first, as a registry writes them: a table's newest cases,
// which every list's first page shows, then lie together at its end, as
// they do in a registry filed case by case (written in random order of
// time, each case of a page lies on a table page of its own, which at a
// million cases is seldom in PostgreSQL's cache).
func (s *seeder) Seed(ctx context.Context, n int, out io.Writer) error {
	start := time.Now()
	from := start.UTC().Add(-seedSpan)
	for done := 0; done < n; {
		k := min(seedBatch, n-done)
		// This batch's share of the span, in filing order.
		lo := from.Add(time.Duration(float64(seedSpan) * float64(done) / float64(n)))
		width := time.Duration(float64(seedSpan) * float64(k) / float64(n))
		if err := s.batch(ctx, k, lo, width); err != nil {
			return err
		}
		done += k
		fmt.Fprintf(out, "seeded %d/%d cases (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit.events (actor_institution, actor_roles, action, object_type, object_id, outcome, request_id, client_addr, details)
VALUES ('', '{}', 'load:seed', 'case', '', 'SUCCESS', '', '', $1)`, fmt.Sprintf(`{"cases": %d}`, n))
	return err
}

type seedCase struct {
	id, child   uuid.UUID
	inst        *seedInstitution
	createdAt   time.Time
	year        int
	by, assign  uuid.UUID
	unassigned  bool
	status      string
	urgency     string
	dept, entry string
}

// batch writes n cases filed between lo and lo+width, oldest first.
func (s *seeder) batch(ctx context.Context, n int, lo time.Time, width time.Duration) error {
	now := time.Now().UTC()
	at := make([]time.Time, n)
	for i := range at {
		at[i] = lo.Add(time.Duration(s.rng.Int64N(max(int64(width), 1)))).Truncate(time.Microsecond)
	}
	slices.SortFunc(at, time.Time.Compare)
	cases := make([]seedCase, n)
	for i := range cases {
		c := &cases[i]
		c.id, c.child = uuid.New(), uuid.New()
		c.inst = &s.institutions[s.rng.IntN(len(s.institutions))]
		c.createdAt = at[i]
		c.year = c.createdAt.In(guatemala).Year()
		c.by = pick(s.rng, c.inst.staff)
		c.assign = pick(s.rng, c.inst.staff)
		c.unassigned = s.rng.IntN(10) == 0
		c.status, c.urgency = pick(s.rng, statuses), pick(s.rng, urgencies)
		if s.rng.IntN(3) > 0 {
			c.dept = pick(s.rng, borderDepartments)
		} else {
			c.dept = pick(s.rng, s.departments)
		}
		if s.rng.IntN(2) == 0 {
			c.entry = pick(s.rng, s.entryPoints)
		}
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	refs, err := reserveReferences(ctx, tx, cases)
	if err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "children", []string{"id", "institution_code", "sex", "nationality", "population_status",
		"care_status", "age_years", "age_band", "created_by", "created_at"}, n, func(i int) []any {
		c := &cases[i]
		age := s.rng.IntN(18)
		return []any{c.child, c.inst.code, pick(s.rng, sexes), pick(s.rng, nationals), pick(s.rng, populations),
			pick(s.rng, cares), age, ageBand(age), c.by, c.createdAt}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "child_identities", []string{"child_id"}, n, func(i int) []any {
		return []any{cases[i].child}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "cases", []string{"id", "institution_code", "reference", "status", "urgency", "due_at",
		"department_code", "entry_point_code", "child_id", "assigned_to", "created_by", "created_at",
		"updated_by", "updated_at", "step_started_at", "cycle_started_at", "closure_reason", "closure_requested_by"}, n, func(i int) []any {
		c := &cases[i]
		var due, reason, requester, assignee, entry any
		if c.status != "CLOSED" {
			// Most deadlines ahead, some passed: the overdue queue is not empty.
			due = now.Add(time.Duration(s.rng.Int64N(int64(60*24*time.Hour))) - 10*24*time.Hour)
		}
		if c.status == "CLOSURE_REQUESTED" || c.status == "CLOSED" {
			reason, requester = pick(s.rng, closures), c.assign
		}
		if !c.unassigned {
			assignee = c.assign
		}
		if c.entry != "" {
			entry = c.entry
		}
		return []any{c.id, c.inst.code, refs[i], c.status, c.urgency, due, c.dept, entry, c.child, assignee, c.by, c.createdAt,
			c.by, c.createdAt, c.createdAt, c.createdAt, reason, requester}
	}); err != nil {
		return err
	}
	var vs [][]any
	for i := range cases {
		c := &cases[i]
		for p := range 1 + s.rng.IntN(3) {
			occurred := c.createdAt.AddDate(0, 0, -s.rng.IntN(60)).Format(time.DateOnly)
			vs = append(vs, []any{c.id, p, pick(s.rng, s.types), occurred, "DAY", pick(s.rng, stages), pick(s.rng, perpetrators)})
		}
	}
	if err := copyRows(ctx, tx, "case_violations", []string{"case_id", "position", "type_code", "occurred_on",
		"occurred_precision", "journey_stage", "perpetrator_type"}, len(vs), func(i int) []any { return vs[i] }); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "case_events", []string{"id", "case_id", "at", "actor_id", "kind", "to_status"}, n, func(i int) []any {
		c := &cases[i]
		return []any{uuid.New(), c.id, c.createdAt, c.by, "STATUS", "REGISTERED"}
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// reserveReferences takes, per institution and year, as many numbers from
// the case counter as the batch files there, and returns each case's
// reference: references stay gapless and unique, as the service makes them.
func reserveReferences(ctx context.Context, tx *sqlx.Tx, cases []seedCase) ([]string, error) {
	type key struct {
		inst string
		year int
	}
	count := map[key]int{}
	for _, c := range cases {
		count[key{c.inst.code, c.year}]++
	}
	next := map[key]int{}
	for k, n := range count {
		var last int
		if err := tx.GetContext(ctx, &last, `
INSERT INTO case_counters (institution_code, year, last) VALUES ($1, $2, $3)
ON CONFLICT (institution_code, year) DO UPDATE SET last = case_counters.last + $3
RETURNING last`, k.inst, k.year, n); err != nil {
			return nil, fmt.Errorf("reserve references: %w", err)
		}
		next[k] = last - n + 1
	}
	refs := make([]string, len(cases))
	for i, c := range cases {
		k := key{c.inst.code, c.year}
		refs[i] = fmt.Sprintf("%s-%d-%06d", k.inst, k.year, next[k])
		next[k]++
	}
	return refs, nil
}

// copyRows streams n rows into table with COPY.
func copyRows(ctx context.Context, tx *sqlx.Tx, table string, cols []string, n int, row func(i int) []any) error {
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(table, cols...))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	for i := range n {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			stmt.Close()
			return fmt.Errorf("copy %s: %w", table, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return stmt.Close()
}
