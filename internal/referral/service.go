package referral

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/narrative"
	"amparo/internal/page"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// Identities reads a child's identity, authorizing and auditing the read
// itself (casefile.Service.Identity).
type Identities interface {
	Identity(ctx context.Context, caseID uuid.UUID) (*child.Identity, error)
}

// Alerts raises the alerts referrals cause, inside their transactions
// (alert.Raiser).
type Alerts interface {
	// ReferralReceived alerts the receiving institution.
	ReferralReceived(ctx context.Context, tx *sqlx.Tx, referralID, caseID uuid.UUID, urgency, to string) error
	// ReferralAnswered alerts the referring institution.
	ReferralAnswered(ctx context.Context, tx *sqlx.Tx, referralID, caseID uuid.UUID, urgency, from string) error
}

// Service makes and answers referrals.
type Service struct {
	db      *sqlx.DB
	guard   *authz.Guard
	catalog *reference.Catalog
	cases   Cases
	alerts  Alerts
	vault   *keys.Vault // the cases' data keys, which seal referral reasons
	now     func() time.Time
}

// NewService returns a Service over db; cases (casefile.Service) reads what
// the printed form shows of a case; alerts tells the other side; v holds
// the data keys of cases, under which reasons are sealed.
func NewService(db *sqlx.DB, g *authz.Guard, cat *reference.Catalog, cases Cases, alerts Alerts, v *keys.Vault) *Service {
	return &Service{db: db, guard: g, catalog: cat, cases: cases, alerts: alerts, vault: v, now: time.Now}
}

// open makes referrals of rows, opening the reason of those whose case the
// caller may read (the others keep it sealed: the recipient before it
// accepts), with one data key unwrapped per case.
func (s *Service) open(ctx context.Context, q sqlx.QueryerContext, rows []row) ([]*Referral, error) {
	now := s.clock()
	out := make([]*Referral, len(rows))
	ids := make([]uuid.UUID, 0, len(rows))
	for i := range rows {
		out[i] = rows[i].referral(now)
		ids = append(ids, rows[i].CaseID)
	}
	readable, err := s.guard.Visible(ctx, casefile.PermRead, authz.Case, ids)
	if err != nil {
		return nil, err
	}
	ids = ids[:0]
	for id := range readable {
		ids = append(ids, id)
	}
	ks, err := s.vault.GetMany(ctx, q, keys.OwnerCase, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if !readable[rows[i].CaseID] {
			continue
		}
		if out[i].Reason, err = narrative.ReferralReason.Text(ks, rows[i].CaseID, rows[i].ID.String(), rows[i].Reason); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// openOne is open for one row.
func (s *Service) openOne(ctx context.Context, q sqlx.QueryerContext, r *row) (*Referral, error) {
	out, err := s.open(ctx, q, []row{*r})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// clock is the time now as PostgreSQL keeps it (UTC, microseconds), so
// that what a mutation answers is what a later read returns.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Refer refers a case to another institution (kind REFERRAL, needing
// case:refer) or transfers it (TRANSFER, needing case:transfer), under the
// consent given or the legal basis stated. The recipient has until
// ResponseWindow(urgency) to answer. The audit event carries the consent's
// codes and the justification's SHA-256, never its text.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without the permission (or over a
// case the caller may only read); NOT_FOUND for a case outside the
// caller's scope; BAD_USER_INPUT naming each wrong field (no consent and no
// basis, unknown service or institution, the case's own institution);
// CONFLICT when the case already has an open referral to that institution
// (or a pending transfer); UNAVAILABLE.
func (s *Service) Refer(ctx context.Context, in ReferInput) (*Referral, error) {
	const op = "referral.Refer"
	perm := PermRefer
	if in.Kind == KindTransfer {
		perm = PermTransfer
	}
	d, err := s.guard.Check(ctx, perm, authz.Target{Kind: authz.Case, ID: in.CaseID, SeenWith: casefile.PermRead})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	now := s.clock()
	in.normalize()
	if err := in.validate(s.catalog, now); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r := &Referral{ID: uuid.New(), CaseID: in.CaseID, Kind: in.Kind, Status: Pending, From: p.Institution,
		To: in.ToInstitution, Services: in.Services, ShareIdentity: in.ShareIdentity, Reason: in.Reason,
		CreatedBy: p.UserID, CreatedAt: now, Version: 1,
		Consent: Consent{Given: in.Consent.Given, By: in.Consent.By, Basis: in.Consent.Basis, Justification: in.Consent.Justification}}
	if r.Consent.Given {
		at := now
		if in.Consent.GivenAt != nil {
			at = in.Consent.GivenAt.UTC()
		}
		r.Consent.At = &at
	}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		f, err := lockCase(ctx, tx, in.CaseID)
		if err != nil {
			return err
		}
		if f.Institution != p.Institution {
			// The guard's scopes hold only the owner's staff; a case that
			// changed hands since is theirs no more.
			return apperr.E(apperr.NotFound)
		}
		if in.ToInstitution == f.Institution {
			return &apperr.Error{Kind: apperr.Invalid, Field: "toInstitution", Msg: apperr.Text{
				ES: "el caso ya pertenece a esta institución", EN: "the case already belongs to this institution"}}
		}
		r.Urgency = casefile.Urgency(f.Urgency)
		if in.Urgency != nil {
			r.Urgency = *in.Urgency
		}
		r.DueAt = now.Add(ResponseWindow(r.Urgency))
		r.Sex = child.Sex(f.Sex)
		if f.AgeBand.Valid {
			b := child.AgeBand(f.AgeBand.String)
			r.AgeBand = &b
		}
		r.Categories = s.categories(f.Types)
		key, err := s.vault.Get(ctx, tx, keys.OwnerCase, in.CaseID)
		if errors.Is(err, keys.ErrNoKey) {
			return apperr.New(apperr.Conflict, "la identidad y los relatos de este caso fueron borrados: no se deriva",
				"this case's identity and narratives were erased: it is not referred")
		}
		if err != nil {
			return err
		}
		if err := insert(ctx, tx, key, r); err != nil {
			if postgres.SQLState(err) == "23505" {
				return &apperr.Error{Kind: apperr.Conflict, Err: err, Msg: apperr.Text{
					ES: "el caso ya tiene una derivación abierta a esta institución, o un traslado pendiente",
					EN: "the case already has an open referral to this institution, or a pending transfer"}}
			}
			return err
		}
		details := map[string]any{"case": in.CaseID, "kind": r.Kind, "from": r.From, "to": r.To, "services": r.Services,
			"urgency": r.Urgency, "shareIdentity": r.ShareIdentity, "consentGiven": r.Consent.Given}
		if r.Consent.Given {
			details["consentBy"] = *r.Consent.By
		} else {
			sum := sha256.Sum256([]byte(*r.Consent.Justification))
			details["consentBasis"] = *r.Consent.Basis
			details["justificationSha256"] = hex.EncodeToString(sum[:])
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: perm, ObjectType: authz.Referral.Name, ObjectID: r.ID.String(), Details: details}); err != nil {
			return err
		}
		return s.alerts.ReferralReceived(ctx, tx, r.ID, r.CaseID, string(r.Urgency), r.To)
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return r, nil
}

// categories lists the distinct violation categories of the types, in order.
func (s *Service) categories(types []string) []string {
	out := []string{}
	for _, t := range types {
		if vt, ok := s.catalog.ViolationType(t); ok && !slices.Contains(out, vt.Category) {
			out = append(out, vt.Category)
		}
	}
	return out
}

// conflict is the answer to an action on a referral no longer in the
// status it needs (answered, withdrawn, completed meanwhile).
func conflict(st Status) error {
	return &apperr.Error{Kind: apperr.Conflict, Msg: apperr.Text{
		ES: "la derivación ya no está en el estado requerido (ahora " + string(st) + ")",
		EN: "the referral is no longer in the required status (now " + string(st) + ")"}}
}

// Respond accepts or declines a pending referral addressed to the caller's
// institution. Accepting gives the institution the case (scope referred);
// accepting a transfer moves the case to it, atomically: the case keeps its
// reference, it is assigned to whoever accepted it, and the previous owner keeps reading it
// (scope transferred). Of an answer and a withdrawal at the same time, one
// wins and the other gets CONFLICT.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without referral:respond (or on the
// sending side); NOT_FOUND outside the caller's scope; BAD_USER_INPUT for a
// decline without a reason; CONFLICT when the referral is no longer
// pending, or expectedVersion is stale; UNAVAILABLE.
func (s *Service) Respond(ctx context.Context, in RespondInput) (*Referral, error) {
	const op = "referral.Respond"
	d, err := s.guard.Check(ctx, PermRespond, authz.Target{Kind: authz.Referral, ID: in.ReferralID, SeenWith: PermRead})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	in.Reason = trim(in.Reason)
	var v apperr.Validation
	if !in.Accept && in.Reason == nil {
		v.Add("reason", "indique por qué se rechaza la derivación", "say why the referral is declined")
	}
	optionalText(&v, "reason", in.Reason)
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	now := s.clock()
	to := Declined
	if in.Accept {
		to = Accepted
	}
	var out *Referral
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// Locks in the order case, then referral, as Refer takes them.
		cur, err := get(ctx, tx, in.ReferralID, false)
		if err != nil {
			return err
		}
		var f *caseFacts
		if Kind(cur.Kind) == KindTransfer && in.Accept {
			if f, err = lockCase(ctx, tx, cur.CaseID); err != nil {
				return err
			}
		}
		if cur, err = get(ctx, tx, in.ReferralID, true); err != nil {
			return err
		}
		if Status(cur.Status) != Pending {
			return conflict(Status(cur.Status))
		}
		if in.ExpectedVersion != nil && *in.ExpectedVersion != cur.Version {
			return apperr.New(apperr.Conflict, "la derivación cambió: vuelva a leerla", "the referral changed: read it again")
		}
		if err := respond(ctx, tx, cur.ID, to, p.UserID, now, in.Reason); err != nil {
			return err
		}
		details := map[string]any{"case": cur.CaseID, "kind": cur.Kind, "from": cur.From, "to": cur.To, "outcome": to}
		if err := audit.Record(ctx, tx, audit.Event{Action: PermRespond, ObjectType: authz.Referral.Name, ObjectID: cur.ID.String(), Details: details}); err != nil {
			return err
		}
		if err := s.alerts.ReferralAnswered(ctx, tx, cur.ID, cur.CaseID, cur.Urgency, cur.From); err != nil {
			return err
		}
		if f != nil {
			if f.Institution != cur.From {
				return apperr.New(apperr.Conflict, "el caso cambió de institución desde la solicitud de traslado",
					"the case changed institution since the transfer was asked")
			}
			if err := moveCase(ctx, tx, cur.CaseID, f.ChildID, cur.To, p.UserID, now); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.Event{Action: PermTransfer, ObjectType: authz.Case.Name, ObjectID: cur.CaseID.String(),
				Details: map[string]any{"referral": cur.ID, "from": cur.From, "to": cur.To}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	// Read after commit: an acceptance lets the recipient read the reason.
	r, err := get(ctx, s.db, in.ReferralID, false)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	if out, err = s.openOne(ctx, s.db, r); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return out, nil
}

// Withdraw withdraws a pending referral the caller's side made; the
// recipient's view of it ends with the summary it had.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without referral:withdraw (or on the
// receiving side); NOT_FOUND outside the caller's scope; BAD_USER_INPUT
// for a reason too long; CONFLICT when it is no longer pending; UNAVAILABLE.
func (s *Service) Withdraw(ctx context.Context, in WithdrawInput) (*Referral, error) {
	const op = "referral.Withdraw"
	d, err := s.guard.Check(ctx, PermWithdraw, authz.Target{Kind: authz.Referral, ID: in.ReferralID, SeenWith: PermRead})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	in.Reason = trim(in.Reason)
	var v apperr.Validation
	optionalText(&v, "reason", in.Reason)
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r, err := s.close(ctx, d, in.ReferralID, Pending, Withdrawn, PermWithdraw, in.Reason, nil)
	return r, apperr.Wrap(op, err)
}

// Complete closes an accepted referral addressed to the caller's
// institution, recording which of the services asked were delivered. The
// case stays readable to the institution, read only, for
// authz.ReferredHistoryPeriod.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without referral:complete (or on the
// sending side); NOT_FOUND outside the caller's scope; BAD_USER_INPUT for
// a service not asked, or a transfer (a transfer ends on acceptance);
// CONFLICT when the referral is not accepted; UNAVAILABLE.
func (s *Service) Complete(ctx context.Context, in CompleteInput) (*Referral, error) {
	const op = "referral.Complete"
	d, err := s.guard.Check(ctx, PermComplete, authz.Target{Kind: authz.Referral, ID: in.ReferralID, SeenWith: PermRead})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	in.Reason = trim(in.Reason)
	for i, c := range in.ServicesDelivered {
		in.ServicesDelivered[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	var v apperr.Validation
	validServices(&v, "servicesDelivered", in.ServicesDelivered, s.catalog)
	optionalText(&v, "reason", in.Reason)
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r, err := s.close(ctx, d, in.ReferralID, Accepted, Completed, PermComplete, in.Reason, in.ServicesDelivered)
	return r, apperr.Wrap(op, err)
}

// close moves a referral from status from to status to, under its row lock.
func (s *Service) close(ctx context.Context, d *authz.Decision, id uuid.UUID, from, to Status, action string, reason *string, delivered []string) (*Referral, error) {
	now := s.clock()
	err := postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		cur, err := get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if Status(cur.Status) != from {
			return conflict(Status(cur.Status))
		}
		if to == Completed {
			if Kind(cur.Kind) == KindTransfer {
				return &apperr.Error{Kind: apperr.Invalid, Field: "referralId", Msg: apperr.Text{
					ES: "un traslado termina al aceptarse: no se completa", EN: "a transfer ends when accepted: it is not completed"}}
			}
			var v apperr.Validation
			for i, c := range delivered {
				if !slices.Contains(cur.Services, c) {
					v.Add(fmt.Sprintf("servicesDelivered[%d]", i), "este servicio no se solicitó en la derivación", "this service was not asked in the referral")
				}
			}
			if err := v.Err(); err != nil {
				return err
			}
		}
		if err := closeReferral(ctx, tx, id, to, d.Principal.UserID, now, reason, delivered); err != nil {
			return err
		}
		details := map[string]any{"case": cur.CaseID, "kind": cur.Kind, "from": cur.From, "to": cur.To, "outcome": to}
		if to == Completed {
			details["servicesDelivered"] = delivered
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: authz.Referral.Name, ObjectID: id.String(), Details: details}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r, err := get(ctx, s.db, id, false)
	if err != nil {
		return nil, postgres.MapError(err)
	}
	return s.openOne(ctx, s.db, r)
}

// Get returns a referral the caller may see: either side, or oversight.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without referral:read; NOT_FOUND when
// it does not exist or lies outside the caller's scope; UNAVAILABLE.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Referral, error) {
	const op = "referral.Get"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.Referral, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r, err := get(ctx, s.db, id, false)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	out, err := s.openOne(ctx, s.db, r)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return out, nil
}

// Page is one page of referrals.
type Page = page.Of[*Referral]

// List returns the referrals the caller may see, newest first: the page pg
// asks for.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without referral:read; BAD_USER_INPUT
// for an unknown direction or status, a bad cursor or page size;
// UNAVAILABLE.
func (s *Service) List(ctx context.Context, f Filter, pg page.Args) (*Page, error) {
	const op = "referral.List"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	req, err := page.NewRequest(pg)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var a postgres.Args
	where, err := filterWhere(d, &f, &a)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	list := postgres.List{From: "referrals r", Where: where, Args: a, Key: []string{"r.created_at", "r.id"}}
	sel, err := postgres.Seek(ctx, s.db, list, req, page.Cursor.Key)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT`+columns+sel.Tail, sel.Args...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	items, err := s.open(ctx, s.db, rows)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	out := page.Cut(req, items, sel.Behind, func(r *Referral) string { return page.Cursor{At: r.CreatedAt, ID: r.ID}.String() })
	out.Count = sel.Count
	return &out, nil
}

// filterWhere is the scope predicate ANDed with the filter's conditions.
func filterWhere(d *authz.Decision, f *Filter, a *postgres.Args) (string, error) {
	conds := []string{d.Where(authz.Referral, a)}
	var v apperr.Validation
	if f.Direction != nil {
		switch strings.ToUpper(*f.Direction) {
		case "INCOMING":
			conds = append(conds, "r.to_institution = "+a.Add(d.Principal.Institution))
		case "OUTGOING":
			conds = append(conds, "r.from_institution = "+a.Add(d.Principal.Institution))
		default:
			v.Add("filter.direction", "use INCOMING o OUTGOING", "use INCOMING or OUTGOING")
		}
	}
	for i, st := range f.Status {
		if !slices.Contains(statuses, Status(st)) {
			v.Add(fmt.Sprintf("filter.status[%d]", i), "estado desconocido: PENDING, ACCEPTED, DECLINED, COMPLETED o WITHDRAWN",
				"unknown status: PENDING, ACCEPTED, DECLINED, COMPLETED or WITHDRAWN")
		}
	}
	if len(f.Status) > 0 {
		conds = append(conds, "r.status = ANY("+a.Add(pq.Array(f.Status))+")")
	}
	if f.Overdue != nil {
		cond := "(r.status = 'PENDING' AND r.due_at < now())"
		if !*f.Overdue {
			cond = "NOT " + cond
		}
		conds = append(conds, cond)
	}
	if f.CaseID != nil {
		conds = append(conds, "r.case_id = "+a.Add(*f.CaseID))
	}
	if f.Kind != nil {
		conds = append(conds, "r.kind = "+a.Add(string(*f.Kind)))
	}
	return strings.Join(conds, " AND "), v.Err()
}
