package complaint

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/narrative"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// Permissions of complaint handling.
const (
	// PermTriage acknowledges, triages and forwards a complaint.
	PermTriage = "complaint:triage"
	// PermClose closes a complaint with an outcome.
	PermClose = "complaint:close"
	// PermContact reads who complained and how to reach them.
	PermContact = "complaint:contact"
)

// Outcomes of a closed complaint.
var Outcomes = []string{"RESOLVED", "OUT_OF_SCOPE_REFERRED", "WITHDRAWN", "DUPLICATE"}

var outcomes = apperr.Set(Outcomes...)

// Which statuses each change starts from.
var (
	acknowledgeable = []Status{Received, Forwarded}
	triageable      = []Status{Acknowledged, Triaged}
	forwardable     = []Status{Acknowledged, Triaged}
	closable        = []Status{Received, Acknowledged, Triaged, Forwarded}
	linkable        = []Status{Received, Acknowledged, Triaged, Forwarded}
)

// publicLabels are what a tracking code shows: no internal detail.
var publicLabels = map[Status]reference.Label{
	Received:     {ES: "Recibida", EN: "Received"},
	Acknowledged: {ES: "En revisión", EN: "Under review"},
	Triaged:      {ES: "En revisión", EN: "Under review"},
	Linked:       {ES: "En atención", EN: "Being handled"},
	Forwarded:    {ES: "Remitida a otra institución", EN: "Forwarded to another institution"},
	Closed:       {ES: "Cerrada", EN: "Closed"},
}

// dueAt is the deadline of a complaint's step, counted from its receipt;
// nil for a step without one.
func (s *Service) dueAt(st Status, received time.Time) *time.Time {
	r, ok := s.catalog.Deadline("complaint", string(st), "*")
	if !ok {
		return nil
	}
	t := s.catalog.Due(r, received, child.Guatemala)
	return &t
}

// inStatus refuses a change that does not start from one of from.
func inStatus(c *Complaint, from []Status) error {
	if slices.Contains(from, c.Status) {
		return nil
	}
	return &apperr.Error{Kind: apperr.Conflict, Msg: apperr.Text{
		ES: fmt.Sprintf("la denuncia está en %s: no admite este paso", c.Status),
		EN: fmt.Sprintf("the complaint is %s: this step does not apply", c.Status)}}
}

// change is one step of a complaint, applied in its own transaction: the
// guard first, then the complaint locked and its version checked, then
// apply's writes, the new status and deadline, and the audit event.
type change struct {
	op, perm, action string
	id               uuid.UUID
	expected         *int
	from             []Status
	to               Status
	// apply writes what the step records beyond the status, in other
	// tables, and returns the complaint's columns to set with the status
	// (one statement: the table's checks tie them together) and the audit
	// event's details (ids and codes only).
	apply func(tx *sqlx.Tx, c *Complaint, p *auth.Principal, now time.Time) (step, error)
}

// step is what apply returns.
type step struct {
	set     []column
	details map[string]any
}

type column struct {
	name  string
	value any
}

func (s *Service) run(ctx context.Context, ch change, validate func() error) (*Complaint, error) {
	d, err := s.guard.Check(ctx, ch.perm, authz.Target{Kind: authz.Complaint, ID: ch.id, SeenWith: PermRead})
	if err != nil {
		return nil, apperr.Wrap(ch.op, err)
	}
	if validate != nil {
		if err := validate(); err != nil {
			return nil, apperr.Wrap(ch.op, err)
		}
	}
	now := s.now().UTC()
	var out *Complaint
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		c, err := get(ctx, tx, s.keys.Vault, ch.id, true)
		if err != nil {
			return err
		}
		if ch.expected != nil && *ch.expected != c.Version {
			return &apperr.Error{Kind: apperr.Conflict, Field: "expectedVersion", Msg: apperr.Text{
				ES: fmt.Sprintf("la denuncia cambió desde que la leyó (versión %d, ahora %d): vuelva a leerla", *ch.expected, c.Version),
				EN: fmt.Sprintf("the complaint changed since you read it (version %d, now %d): read it again", *ch.expected, c.Version)}}
		}
		if err := inStatus(c, ch.from); err != nil {
			return err
		}
		st := step{details: map[string]any{}}
		if ch.apply != nil {
			if st, err = ch.apply(tx, c, d.Principal, now); err != nil {
				return err
			}
		}
		st.details["from"], st.details["to"] = c.Status, ch.to
		var a args
		q := `UPDATE complaints SET status = ` + a.Add(ch.to) + `, due_at = ` + a.Add(s.dueAt(ch.to, c.SubmittedAt)) +
			`, version = version + 1, updated_at = ` + a.Add(now)
		for _, col := range st.set {
			q += ", " + col.name + " = " + a.Add(col.value)
		}
		q += ` WHERE id = ` + a.Add(ch.id)
		if _, err := tx.ExecContext(ctx, q, a...); err != nil {
			return fmt.Errorf("%s: %w", ch.action, err)
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: ch.action, ObjectType: "complaint", ObjectID: ch.id.String(),
			Details: st.details}); err != nil {
			return err
		}
		out, err = get(ctx, tx, s.keys.Vault, ch.id, false)
		return err
	})
	if err != nil {
		return nil, apperr.Wrap(ch.op, err)
	}
	return out, nil
}

// VersionInput names a complaint and the version the caller last read.
type VersionInput struct {
	ComplaintID     uuid.UUID
	ExpectedVersion int
}

// Acknowledge records that a receiving institution has the complaint in
// hand (CHS commitment 5: within 24 hours); triage is due next.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without complaint:triage (audited);
// NOT_FOUND when the complaint is not routed to the caller's institution;
// CONFLICT when the version is stale or the complaint is past this step.
func (s *Service) Acknowledge(ctx context.Context, in VersionInput) (*Complaint, error) {
	return s.run(ctx, change{op: "complaint.Acknowledge", perm: PermTriage, action: "complaint:acknowledge",
		id: in.ComplaintID, expected: &in.ExpectedVersion, from: acknowledgeable, to: Acknowledged}, nil)
}

// TriageInput is a receiving institution's reading of a complaint.
type TriageInput struct {
	ComplaintID     uuid.UUID
	Urgency         casefile.Urgency
	Violations      []string
	RoutedTo        []string
	ExpectedVersion int
}

const maxRoutes = 10

// Triage sets a complaint's urgency, classifies its violations (those
// submitted stay on record) and sets where it is routed: routes not listed
// are withdrawn, listed ones added. The caller's institution loses the
// complaint when it routes it elsewhere only.
//
// Errors: as Acknowledge; BAD_USER_INPUT for an unknown urgency,
// violation or institution, or none of them.
func (s *Service) Triage(ctx context.Context, in TriageInput) (*Complaint, error) {
	for i := range in.Violations {
		in.Violations[i] = strings.TrimSpace(in.Violations[i])
	}
	for i := range in.RoutedTo {
		in.RoutedTo[i] = strings.ToUpper(strings.TrimSpace(in.RoutedTo[i]))
	}
	validate := func() error {
		var v apperr.Validation
		if !in.Urgency.Valid() {
			v.Add("urgency", "urgencia no válida", "invalid urgency")
		}
		checkViolations(&v, s.catalog, "violations", in.Violations)
		if len(in.RoutedTo) == 0 || len(in.RoutedTo) > maxRoutes {
			v.Add("routedTo", fmt.Sprintf("indique de 1 a %d instituciones", maxRoutes),
				fmt.Sprintf("give 1 to %d institutions", maxRoutes))
		}
		for i, code := range in.RoutedTo {
			if _, ok := s.catalog.Institution(code); !ok {
				v.Add(fmt.Sprintf("routedTo[%d]", i), "institución desconocida: las válidas están en la consulta institutions",
					"unknown institution: the valid ones are in the institutions query")
			}
		}
		return v.Err()
	}
	return s.run(ctx, change{op: "complaint.Triage", perm: PermTriage, action: "complaint:triage",
		id: in.ComplaintID, expected: &in.ExpectedVersion, from: triageable, to: Triaged,
		apply: func(tx *sqlx.Tx, c *Complaint, p *auth.Principal, now time.Time) (step, error) {
			routedTo := slices.Compact(slices.Sorted(slices.Values(in.RoutedTo)))
			if err := withdrawRoutes(ctx, tx, c.ID, now, routedTo, true); err != nil {
				return step{}, err
			}
			routes := make([]route, len(routedTo))
			for i, inst := range routedTo {
				routes[i] = route{Institution: inst, Source: "TRIAGE"}
			}
			if err := s.route(ctx, tx, c.ID, p.UserID, now, string(in.Urgency), routes); err != nil {
				return step{}, err
			}
			return step{
				set:     []column{{"urgency", in.Urgency}, {"triaged_violations", pq.Array(in.Violations)}},
				details: map[string]any{"urgency": in.Urgency, "violations": in.Violations, "routedTo": routedTo},
			}, nil
		}}, validate)
}

// ForwardInput sends a complaint to another institution.
type ForwardInput struct {
	ComplaintID     uuid.UUID
	ToInstitution   string
	Reason          string
	ExpectedVersion *int
}

// Forward routes a complaint to another institution, saying why, and
// withdraws it from the caller's: the receiver acknowledges it anew.
//
// Errors: as Acknowledge; BAD_USER_INPUT for an unknown institution, the
// caller's own, or no reason.
func (s *Service) Forward(ctx context.Context, in ForwardInput) (*Complaint, error) {
	in.ToInstitution = strings.ToUpper(strings.TrimSpace(in.ToInstitution))
	in.Reason = strings.TrimSpace(in.Reason)
	validate := func() error {
		var v apperr.Validation
		if _, ok := s.catalog.Institution(in.ToInstitution); !ok {
			v.Add("toInstitution", "institución desconocida: las válidas están en la consulta institutions",
				"unknown institution: the valid ones are in the institutions query")
		} else if p, _ := auth.From(ctx); p != nil && p.Institution == in.ToInstitution {
			v.Add("toInstitution", "remita a otra institución, no a la suya", "forward to another institution, not your own")
		}
		if in.Reason == "" {
			v.Add("reason", "diga por qué se remite", "say why it is forwarded")
		} else {
			v.Text("reason", in.Reason, maxReason)
		}
		return v.Err()
	}
	return s.run(ctx, change{op: "complaint.Forward", perm: PermTriage, action: "complaint:forward",
		id: in.ComplaintID, expected: in.ExpectedVersion, from: forwardable, to: Forwarded,
		apply: func(tx *sqlx.Tx, c *Complaint, p *auth.Principal, now time.Time) (step, error) {
			if err := withdrawRoutes(ctx, tx, c.ID, now, []string{p.Institution}, false); err != nil {
				return step{}, err
			}
			r := route{Institution: in.ToInstitution, Source: "FORWARD", Reason: &in.Reason}
			urgency := ""
			if c.Urgency != nil {
				urgency = string(*c.Urgency)
			}
			if err := s.route(ctx, tx, c.ID, p.UserID, now, urgency, []route{r}); err != nil {
				return step{}, err
			}
			return step{details: map[string]any{"toInstitution": in.ToInstitution}}, nil
		}}, validate)
}

const maxReason = 2000

// CloseInput closes a complaint.
type CloseInput struct {
	ComplaintID     uuid.UUID
	Outcome         string
	Reason          *string
	ExpectedVersion int
}

// Close closes a complaint that no case takes up, with its outcome. A
// linked complaint closes with its case instead.
//
// Errors: as Acknowledge; BAD_USER_INPUT for an unknown outcome.
func (s *Service) Close(ctx context.Context, in CloseInput) (*Complaint, error) {
	in.Reason = child.TrimOpt(in.Reason)
	validate := func() error {
		var v apperr.Validation
		if !outcomes[in.Outcome] {
			v.Add("outcome", "resultado desconocido: "+strings.Join(Outcomes, ", "), "unknown outcome: "+strings.Join(Outcomes, ", "))
		}
		if in.Reason != nil {
			v.Text("reason", *in.Reason, maxReason)
		}
		return v.Err()
	}
	return s.run(ctx, change{op: "complaint.Close", perm: PermClose, action: "complaint:close",
		id: in.ComplaintID, expected: &in.ExpectedVersion, from: closable, to: Closed,
		apply: func(*sqlx.Tx, *Complaint, *auth.Principal, time.Time) (step, error) {
			return step{
				set:     []column{{"outcome", in.Outcome}, {"closure_reason", in.Reason}},
				details: map[string]any{"outcome": in.Outcome},
			}, nil
		}}, validate)
}

// FollowCases makes the complaints a case answers follow it: they close
// (RESOLVED) when the case closes, and are LINKED again when it reopens,
// in the transition's transaction, each audited. The hook itself is not
// exported: only casefile runs it, inside a transition its guard allowed.
func (s *Service) FollowCases(cases *casefile.Service) { cases.OnTransition(s.followCase) }

// followCase is the casefile.TransitionHook of FollowCases.
func (s *Service) followCase(ctx context.Context, tx *sqlx.Tx, c *casefile.Case, from casefile.Status) error {
	var q string
	switch {
	case c.Status == casefile.Closed:
		q = `UPDATE complaints SET status = 'CLOSED', outcome = 'RESOLVED', due_at = NULL, version = version + 1, updated_at = $2
WHERE case_id = $1 AND status = 'LINKED' RETURNING id`
	case from == casefile.Closed:
		q = `UPDATE complaints SET status = 'LINKED', outcome = NULL, version = version + 1, updated_at = $2
WHERE case_id = $1 AND status = 'CLOSED' RETURNING id`
	default:
		return nil
	}
	var ids []uuid.UUID
	if err := sqlx.SelectContext(ctx, tx, &ids, q, c.ID, s.now().UTC()); err != nil {
		return fmt.Errorf("complaints of case %s: %w", c.ID, err)
	}
	for _, id := range ids {
		if err := audit.Record(ctx, tx, audit.Event{Action: "complaint:followCase", ObjectType: "complaint",
			ObjectID: id.String(), Details: map[string]any{"case": c.ID, "caseStatus": c.Status}}); err != nil {
			return err
		}
	}
	return nil
}

// Contact is who complained and how to reach them.
type Contact struct {
	Kind    ComplainantKind
	Name    *string
	Contact *string
}

// Contact returns the complainant of a complaint to a receiving
// institution, and records the read in the audit trail in the same
// transaction.
//
// Errors: UNAUTHENTICATED; FORBIDDEN when the caller may read the complaint
// but not its complainant; NOT_FOUND otherwise (both audited).
func (s *Service) Contact(ctx context.Context, id uuid.UUID) (*Contact, error) {
	const op = "complaint.Contact"
	if _, err := s.guard.Check(ctx, PermContact, authz.Target{Kind: authz.Complaint, ID: id, SeenWith: PermRead}); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var out Contact
	err := postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		const q = `
SELECT k.complainant_kind, c.name_sealed, c.contact_sealed
FROM complaints k LEFT JOIN complaint_contacts c ON c.complaint_id = k.id WHERE k.id = $1`
		var name, contact []byte
		if err := tx.QueryRowxContext(ctx, q, id).Scan(&out.Kind, &name, &contact); err != nil {
			return err
		}
		if name != nil || contact != nil {
			ks, err := s.keys.Vault.GetMany(ctx, tx, keys.OwnerComplaint, []uuid.UUID{id})
			if err != nil {
				return err
			}
			if out.Name, err = narrative.ComplainantName.Open(ks, id, id.String(), name); err != nil {
				return err
			}
			if out.Contact, err = narrative.ComplainantContact.Open(ks, id, id.String(), contact); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermContact, ObjectType: "complaint", ObjectID: id.String()})
	})
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return &out, nil
}
