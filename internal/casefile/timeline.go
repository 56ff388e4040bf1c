package casefile

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/postgres"
	"amparo/internal/reference"
	"amparo/internal/request"
)

// TimelineEntry is one thing that happened to a case. Summaries are made
// of codes, staff emails and institution codes only: never a child's
// identity, nor free text (a note's words or a file's name may hold one).
type TimelineEntry struct {
	At      time.Time
	Kind    string // STATUS_CHANGED, ASSIGNED, NOTE_ADDED, EVIDENCE_ADDED, REFERRAL_*, IDENTITY_REVEALED
	Actor   *auth.Principal
	Summary string
}

// Kinds of timeline entries.
const (
	EntryStatusChanged   = "STATUS_CHANGED"
	EntryAssigned        = "ASSIGNED"
	EntryNoteAdded       = "NOTE_ADDED"
	EntryEvidenceAdded   = "EVIDENCE_ADDED"
	EntryReferralCreated = "REFERRAL_CREATED"
	EntryIdentityReveal  = "IDENTITY_REVEALED"
	// A referral answered is REFERRAL_ and its status: REFERRAL_ACCEPTED,
	// REFERRAL_DECLINED, ...
)

// Timelines returns the timeline of each case the caller may read, oldest
// first (a loader batches this), read from the domain's own tables: status
// changes and assignments, notes, evidence, referrals and, for those who
// may read the child's identity, the identity reveals.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; UNAVAILABLE.
func (s *Service) Timelines(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*TimelineEntry, error) {
	const op = "casefile.Timelines"
	d, ids, err := s.guard.Filter(ctx, PermRead, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if len(ids) == 0 {
		return map[uuid.UUID][]*TimelineEntry{}, nil
	}
	// A case read only because the institution transferred it away shows
	// its history up to the transfer: what the receiving institution did
	// since is not the previous owner's to follow.
	held, err := s.guard.Visible(ctx, PermRead, authz.CaseHeld, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var left []uuid.UUID
	for _, id := range ids {
		if !held[id] {
			left = append(left, id)
		}
	}
	// Who revealed an identity is shown only to who may see the identity,
	// as identityReveals does.
	seeIdentity, err := s.guard.Visible(ctx, PermIdentityRead, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	revealed := make([]uuid.UUID, 0, len(seeIdentity))
	for id := range seeIdentity {
		revealed = append(revealed, id)
	}
	args := postgres.Args{postgres.UUIDs(ids), postgres.UUIDs(revealed), postgres.UUIDs(left)}
	q := `
SELECT t.case_id, t.at, t.kind, t.a, t.b, t.c, u.id AS actor_id, u.email AS actor_email, u.display_name AS actor_name,
  w.email AS assignee_email
FROM (
  SELECT case_id, at, CASE kind WHEN 'STATUS' THEN 'STATUS_CHANGED' ELSE 'ASSIGNED' END AS kind, actor_id,
    from_status AS a, to_status AS b, closure_reason AS c, assignee_id AS who,
    CASE kind WHEN 'STATUS' THEN 0 ELSE 1 END AS ord
  FROM case_events WHERE case_id = ANY($1::uuid[])
  UNION ALL
  SELECT case_id, created_at, 'NOTE_ADDED', author_id, NULL, NULL, NULL, NULL, 2 FROM case_notes WHERE case_id = ANY($1::uuid[])
  UNION ALL
  SELECT case_id, uploaded_at, 'EVIDENCE_ADDED', uploaded_by, content_type, NULL, NULL, NULL, 3 FROM evidence WHERE case_id = ANY($1::uuid[])
  UNION ALL
  SELECT case_id, created_at, 'REFERRAL_CREATED', NULL, from_institution, to_institution, status, NULL, 4
  FROM referrals WHERE case_id = ANY($1::uuid[])
  UNION ALL
  SELECT case_id, responded_at, 'REFERRAL_' || status, NULL, from_institution, to_institution, status, NULL, 5
  FROM referrals WHERE case_id = ANY($1::uuid[]) AND responded_at IS NOT NULL
  UNION ALL
  SELECT case_id, revealed_at, 'IDENTITY_REVEALED', revealed_by, institution, NULL, NULL, NULL, 6
  FROM identity_reveals WHERE case_id = ANY($2::uuid[])
) t
LEFT JOIN users u ON u.id = t.actor_id
LEFT JOIN users w ON w.id = t.who
WHERE NOT (t.case_id = ANY($3::uuid[]) AND t.at > ` + authz.TransferredAt("t.case_id", d.Principal, &args) + `)
ORDER BY t.case_id, t.at, t.ord`
	var rows []struct {
		CaseID   uuid.UUID      `db:"case_id"`
		At       time.Time      `db:"at"`
		Kind     string         `db:"kind"`
		A        sql.NullString `db:"a"`
		B        sql.NullString `db:"b"`
		C        sql.NullString `db:"c"`
		ActorID  uuid.NullUUID  `db:"actor_id"`
		Email    sql.NullString `db:"actor_email"`
		Name     sql.NullString `db:"actor_name"`
		Assignee sql.NullString `db:"assignee_email"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, q, args...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	lang := request.From(ctx).Lang
	out := make(map[uuid.UUID][]*TimelineEntry, len(ids))
	for _, r := range rows {
		e := &TimelineEntry{At: r.At, Kind: r.Kind}
		if r.ActorID.Valid {
			e.Actor = &auth.Principal{UserID: r.ActorID.UUID, Email: r.Email.String, Name: r.Name.String}
		}
		e.Summary = summary(lang, r.Kind, r.A.String, r.B.String, r.C.String, r.Assignee.String)
		out[r.CaseID] = append(out[r.CaseID], e)
	}
	return out, nil
}

// statusLabels name the statuses in the timeline.
var statusLabels = map[string]reference.Label{
	string(Registered):       {ES: "Registrado", EN: "Registered"},
	string(Assessment):       {ES: "Evaluación", EN: "Assessment"},
	string(CasePlan):         {ES: "Plan de caso", EN: "Case plan"},
	string(Implementation):   {ES: "Implementación", EN: "Implementation"},
	string(FollowUp):         {ES: "Seguimiento", EN: "Follow-up"},
	string(ClosureRequested): {ES: "Cierre solicitado", EN: "Closure requested"},
	string(Closed):           {ES: "Cerrado", EN: "Closed"},
}

// summary says in lang what an entry records, from codes only.
func summary(lang, kind, a, b, c, assignee string) string {
	es := lang != "en"
	pick := func(esText, enText string) string {
		if es {
			return esText
		}
		return enText
	}
	status := func(code string) string { return statusLabels[code].In(lang) }
	switch kind {
	case EntryStatusChanged:
		s := status(b)
		if a != "" {
			s = status(a) + " → " + s
		}
		if c != "" {
			s += " (" + c + ")"
		}
		return s
	case EntryAssigned:
		return pick("Asignado a "+assignee, "Assigned to "+assignee)
	case EntryNoteAdded:
		return pick("Nota añadida", "Note added")
	case EntryEvidenceAdded:
		return pick("Evidencia añadida ("+a+")", "Evidence added ("+a+")")
	case EntryReferralCreated:
		return pick(fmt.Sprintf("Remisión de %s a %s", a, b), fmt.Sprintf("Referral from %s to %s", a, b))
	case EntryIdentityReveal:
		return pick("Identidad revelada a "+a, "Identity revealed to "+a)
	}
	// a referral answered
	switch c {
	case "ACCEPTED":
		return pick("Remisión aceptada por "+b, "Referral accepted by "+b)
	case "DECLINED":
		return pick("Remisión rechazada por "+b, "Referral declined by "+b)
	}
	return pick(fmt.Sprintf("Remisión a %s: %s", b, c), fmt.Sprintf("Referral to %s: %s", b, c))
}
