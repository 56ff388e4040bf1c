package complaint

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/idempotency"
	"amparo/internal/keys"
	"amparo/internal/postgres"
	"amparo/internal/reference"
	"amparo/internal/request"
)

// Permissions used by this package.
const (
	PermSubmit = "complaint:submit"
	PermRead   = "complaint:read"
	PermLink   = "complaint:link"
	// PermCaseUpdate is needed on an existing case to link a complaint to it.
	PermCaseUpdate = "case:update"
)

// Cases is what linking needs of the case registry (casefile.Service).
type Cases interface {
	FileWith(ctx context.Context, in casefile.FileInput, hook casefile.Hook) (*casefile.Case, error)
}

// Service receives and lists complaints.
type Service struct {
	db      *sqlx.DB
	guard   *authz.Guard
	catalog *reference.Catalog
	cases   Cases
	keys    child.Keys
	alerts  Alerts
	now     func() time.Time
	// tracking keys what is stored of tracking codes.
	tracking keys.Tracking
}

// Alerts raises the alerts that routing a complaint causes, inside the
// routing's transaction (alert.Raiser).
type Alerts interface {
	// ComplaintRouted alerts the staff of institutions who may read the
	// complaint.
	ComplaintRouted(ctx context.Context, tx *sqlx.Tx, complaintID uuid.UUID, urgency string, institutions []string) error
}

// NewService returns a Service over db, raising alerts with alerts.
func NewService(db *sqlx.DB, g *authz.Guard, cat *reference.Catalog, cases Cases, ks child.Keys, alerts Alerts) *Service {
	return &Service{db: db, guard: g, catalog: cat, cases: cases, keys: ks, alerts: alerts, now: time.Now,
		tracking: ks.Index.Tracking()}
}

// UseClock makes the service read the time from now (tests that move
// time, such as past a replay secret's expiry).
func (s *Service) UseClock(now func() time.Time) { s.now = now }

// route routes complaint id to routes in tx and alerts the institutions
// newly routed to.
func (s *Service) route(ctx context.Context, tx *sqlx.Tx, id, by uuid.UUID, at time.Time, urgency string, routes []route) error {
	added, err := addRoutes(ctx, tx, id, by, at, routes)
	if err != nil {
		return err
	}
	return s.alerts.ComplaintRouted(ctx, tx, id, urgency, added)
}

// Submit records a complaint for the caller's institution, routes it by the
// routing rules (Route) to the institutions that must act on it, and
// returns it with its tracking code. A retry with the same idempotency key and content
// returns the first complaint and the same code, and creates nothing; after
// 24 hours the code is no longer kept, and the retry is told so.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without complaint:submit;
// BAD_USER_INPUT naming each wrong field; CONFLICT when the key was used for
// different content, or (wrapping idempotency.ErrSecretGone) when it was
// used more than 24 hours ago and the code is no longer kept.
func (s *Service) Submit(ctx context.Context, in SubmitInput) (*Complaint, string, error) {
	const op = "complaint.Submit"
	d, err := s.guard.Check(ctx, PermSubmit, authz.Create)
	if err != nil {
		return nil, "", apperr.Wrap(op, err)
	}
	p := d.Principal
	now := s.now().UTC()
	in.normalize(s.catalog)
	if err := in.validate(s.catalog, now); err != nil {
		return nil, "", apperr.Wrap(op, err)
	}
	keyless := in
	keyless.IdempotencyKey = ""
	hash, err := idempotency.Hash(keyless)
	if err != nil {
		return nil, "", apperr.Wrap(op, err)
	}
	code := newTrackingCode()
	n := &newComplaint{ID: uuid.New(), Institution: p.Institution, TrackingHash: s.trackingHash(code), TrackingKey: keys.TrackingKeyID,
		By: p.UserID, At: now, In: &in, DueAt: s.dueAt(Received, now)}
	var out *Complaint
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		c := idempotency.Claim{User: p.UserID, Operation: opSubmit, Key: in.IdempotencyKey, Hash: hash, ID: n.ID}
		claim, err := idempotency.Record(ctx, tx, c)
		if err != nil {
			return err
		}
		if claim.Replay {
			if code, err = s.replayedCode(ctx, tx, c, claim.ID, now); err != nil {
				return err
			}
			out, err = get(ctx, tx, s.keys.Vault, claim.ID, false)
			return err
		}
		var situations []string
		for _, c := range in.Children {
			situations = append(situations, string(c.CareStatus))
		}
		if len(in.ChildIDs) > 0 {
			known, err := knownChildren(ctx, tx, p.Institution, in.ChildIDs)
			if err != nil {
				return err
			}
			var v apperr.Validation
			for i, id := range in.ChildIDs {
				care, ok := known[id]
				situations = append(situations, care)
				if !ok {
					v.Add(fmt.Sprintf("childIds[%d]", i), "niña, niño o adolescente desconocido en su institución",
						"no such child in your institution")
				}
			}
			if err := v.Err(); err != nil {
				return err
			}
		}
		n.ChildIDs = append(n.ChildIDs, in.ChildIDs...)
		// The complaint's own data key seals what identifies people in it.
		key, err := s.keys.Vault.Create(ctx, tx, keys.OwnerComplaint, n.ID)
		if err != nil {
			return err
		}
		// A retry whose answer is lost gets the code again, for a day.
		if err := idempotency.KeepSecret(ctx, tx, c, key, code, now); err != nil {
			return err
		}
		owner := child.Owner{Kind: keys.OwnerComplaint, ID: n.ID, Key: key}
		for i := range in.Children {
			id := uuid.New()
			if err := child.Insert(ctx, tx, s.keys, owner, id, p.Institution, p.UserID, now, &in.Children[i]); err != nil {
				return err
			}
			n.ChildIDs = append(n.ChildIDs, id)
		}
		if err := insert(ctx, tx, key, n); err != nil {
			return err
		}
		routes := Route(s.catalog, in.Violations, strs(in.PerpetratorTypes), situations)
		if err := s.route(ctx, tx, n.ID, p.UserID, now, "", routes); err != nil {
			return err
		}
		routedTo := make([]string, len(routes))
		for i, r := range routes {
			routedTo[i] = r.Institution
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: PermSubmit, ObjectType: "complaint", ObjectID: n.ID.String(),
			Details: map[string]any{"channel": in.Channel, "complainant": in.Complainant.Kind,
				"violations": in.Violations, "children": n.ChildIDs, "routedTo": routedTo}}); err != nil {
			return err
		}
		out, err = get(ctx, tx, s.keys.Vault, n.ID, false)
		return err
	})
	if err != nil {
		return nil, "", apperr.Wrap(op, err)
	}
	return out, code, nil
}

// Get returns a complaint the caller may read.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without complaint:read; NOT_FOUND when
// it does not exist or lies outside the caller's scope.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Complaint, error) {
	const op = "complaint.Get"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.Complaint, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	c, err := get(ctx, s.db, s.keys.Vault, id, false)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return c, nil
}

// PublicStatus is all a tracking code reveals.
type PublicStatus struct {
	Status    Status
	Label     string // in the request's language
	UpdatedAt time.Time
}

// StatusByCode answers a complainant holding a tracking code: the status,
// its label in the request's language and when it last changed, nothing
// else. No login; nil when the code is unknown. Known and unknown codes
// take the same path (the rate limit is the handler's: graph.Limiter).
func (s *Service) StatusByCode(ctx context.Context, code string) (*PublicStatus, error) {
	norm := normalizeCode(code)
	if len(norm) != codeLen {
		return nil, nil
	}
	// Every well-formed code costs the same: one HMAC and one probe of the
	// unique index, found or not (the length checked above is the input's,
	// which tells nothing of what is stored).
	var st PublicStatus
	err := s.db.QueryRowxContext(ctx, `SELECT status, updated_at FROM complaints WHERE tracking_hash = $1`,
		s.trackingHash(norm)).Scan(&st.Status, &st.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, apperr.Wrap("complaint.StatusByCode", postgres.MapError(err))
	}
	st.Label = publicLabels[st.Status].In(request.From(ctx).Lang)
	return &st, nil
}

// Link links a complaint to an existing case or to a new case filed with it
// in the same transaction. A receiving institution may link a complaint
// routed to it: the new case is the caller's institution's, unassigned.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without complaint:link; NOT_FOUND when
// the complaint or the case lies outside the caller's scope; BAD_USER_INPUT
// unless exactly one of caseId and newCase is given; CONFLICT when the
// complaint is already linked, forwarded away or closed.
func (s *Service) Link(ctx context.Context, in LinkInput) (*Complaint, error) {
	const op = "complaint.Link"
	if _, err := s.guard.Check(ctx, PermLink, authz.On(authz.Complaint, in.ComplaintID)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if (in.CaseID == nil) == (in.NewCase == nil) {
		return nil, &apperr.Error{Op: op, Kind: apperr.Invalid, Field: "caseId", Msg: apperr.Text{
			ES: "indique un caso existente (caseId) o uno nuevo (newCase), no ambos",
			EN: "give an existing case (caseId) or a new one (newCase), not both"}}
	}
	link := func(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID) error {
		c, err := get(ctx, tx, s.keys.Vault, in.ComplaintID, true)
		if err != nil {
			return err
		}
		if c.CaseID != nil {
			if *c.CaseID == caseID {
				return nil // already done: a retried link changes nothing
			}
			return apperr.New(apperr.Conflict, "la denuncia ya está vinculada a otro caso",
				"the complaint is already linked to another case")
		}
		if err := inStatus(c, linkable); err != nil {
			return err
		}
		var closed bool
		if err := tx.GetContext(ctx, &closed, `SELECT status = 'CLOSED' FROM cases WHERE id = $1`, caseID); err != nil {
			return fmt.Errorf("case of the link: %w", err)
		}
		if closed {
			return apperr.New(apperr.Conflict, "el caso está cerrado: reábralo antes de vincularle una denuncia",
				"the case is closed: reopen it before linking a complaint to it")
		}
		const q = `UPDATE complaints SET status = 'LINKED', case_id = $2, updated_at = $3, due_at = NULL, version = version + 1 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, in.ComplaintID, caseID, s.now().UTC()); err != nil {
			return fmt.Errorf("link complaint: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermLink, ObjectType: "complaint", ObjectID: in.ComplaintID.String(),
			Details: map[string]any{"case": caseID}})
	}
	var err error
	if in.NewCase != nil {
		// The new case waits in the institution's queue for a supervisor
		// to assign it.
		in.NewCase.Unassigned = true
		_, err = s.cases.FileWith(ctx, *in.NewCase, func(ctx context.Context, tx *sqlx.Tx, c *casefile.Case) error {
			return link(ctx, tx, c.ID)
		})
		if err != nil {
			var ae *apperr.Error
			if errors.As(err, &ae) && ae.Kind == apperr.Invalid {
				var v apperr.Validation
				v.AddError("newCase", err)
				err = v.Err()
			}
			return nil, apperr.Wrap(op, err)
		}
	} else {
		if _, err := s.guard.Check(ctx, PermCaseUpdate, authz.On(authz.Case, *in.CaseID)); err != nil {
			return nil, apperr.Wrap(op, err)
		}
		if err := postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error { return link(ctx, tx, *in.CaseID) }); err != nil {
			return nil, apperr.Wrap(op, err)
		}
	}
	c, err := get(ctx, s.db, s.keys.Vault, in.ComplaintID, false)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return c, nil
}

// Tracking codes: 160 random bits in base32, 32 characters, shown in groups
// of four so that they can be read out over a phone.
const codeLen = 32

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newTrackingCode() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	s := codeEncoding.EncodeToString(b)
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:i+4])
	}
	return strings.Join(parts, "-")
}

func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// trackingHash is what is stored of a tracking code: keyed (keys.Tracking),
// so that a dump cannot confirm which complaint a code belongs to. The code
// has 160 random bits, so it cannot be found by guessing either way.
func (s *Service) trackingHash(code string) []byte {
	return s.tracking.Code(normalizeCode(code))
}
