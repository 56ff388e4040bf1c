package authz

import (
	"strings"

	"amparo/internal/auth"
	"amparo/internal/postgres"
)

// Kind is a type of record that permissions reach, with what each scope
// means over it in SQL. It is the one place where "own", "institution",
// "referred", ... are turned into conditions: lists, single reads and the
// guard's checks all use it.
type Kind struct {
	// Name is the audit trail's object type ("case", "evidence", ...).
	Name string
	// From is the FROM clause that reaches the record's scope columns from
	// its id ("evidence e JOIN cases c ON c.id = e.case_id").
	From string
	// ID is the column holding the record's id in From ("e.id").
	ID string
	// scope builds the condition for one scope; "" when the scope does not
	// apply to this kind (it then reaches nothing).
	scope func(sc Scope, p *auth.Principal, a *postgres.Args) string
}

// Where is the SQL condition, over the aliases of k.From, that holds for
// exactly the records the scopes reach. No scope reaches nothing.
func (k *Kind) Where(p *auth.Principal, s Scopes, a *postgres.Args) string {
	if s.Has(All) {
		return "TRUE"
	}
	var or []string
	for _, sc := range allScopes {
		if !s.Has(sc) || (sc == Assigned && s.Has(Own)) {
			continue // own includes assigned
		}
		if cond := k.scope(sc, p, a); cond != "" {
			or = append(or, cond)
		}
	}
	if len(or) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// caseScope is what the scopes mean for a case, aliased c. Institution
// scope needs an institution: a system user holds none.
func caseScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	switch sc {
	case Institution:
		if p.Institution == "" {
			return ""
		}
		return "c.institution_code = " + a.Add(p.Institution)
	case Own, Assigned:
		// A case is its assignee's own: filing it does not keep it, so a
		// reassignment takes the case away from the previous assignee.
		return "c.assigned_to = " + a.Add(p.UserID)
	case Unassigned:
		if p.Institution == "" {
			return ""
		}
		return "(c.assigned_to IS NULL AND c.institution_code = " + a.Add(p.Institution) + ")"
	case Referred:
		if p.Institution == "" {
			return ""
		}
		return `EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.status = 'ACCEPTED' AND r.kind = 'REFERRAL' AND r.to_institution = ` +
			a.Add(p.Institution) + `)`
	}
	return referralCaseScope(sc, p, a)
}

// ReferredHistoryPeriod is how long an institution keeps reading a case
// after completing the referral it received (scope referred_history).
const ReferredHistoryPeriod = "90 days"

// referralCaseScope is what the scopes of referrals and transfers mean for
// a case, aliased c: the child's identity when an accepted referral shares
// it under consent or a legal basis; a recently completed referral's case;
// a case the institution transferred away.
func referralCaseScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	if p.Institution == "" {
		return ""
	}
	const to = `EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.kind = 'REFERRAL' AND r.to_institution = `
	switch sc {
	case ReferredIdentity:
		return to + a.Add(p.Institution) + ` AND r.status = 'ACCEPTED' AND r.share_identity
  AND (r.consent_given OR r.consent_basis IN ('BEST_INTERESTS', 'LEGAL_OBLIGATION', 'VITAL_INTEREST')))`
	case ReferredHistory:
		return to + a.Add(p.Institution) + ` AND r.status = 'COMPLETED' AND r.closed_at > now() - interval '` + ReferredHistoryPeriod + `')`
	case Transferred:
		inst := a.Add(p.Institution)
		return `(c.institution_code <> ` + inst + ` AND EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.kind = 'TRANSFER'
  AND r.status = 'ACCEPTED' AND r.from_institution = ` + inst + `))`
	}
	return ""
}

// referralScope is what the scopes mean for a referral, aliased r: the
// sender side holds institution (referrals its institution made) and own
// (referrals the user made, or of a case assigned to them, made by their
// institution); the recipient side holds referred (referrals addressed to
// its institution, whatever their status: what the referral lets it see of
// the case is the case's own scopes above).
func referralScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	if p.Institution == "" {
		return ""
	}
	switch sc {
	case Institution:
		return "r.from_institution = " + a.Add(p.Institution)
	case Own:
		id := a.Add(p.UserID)
		return "(r.from_institution = " + a.Add(p.Institution) + " AND (r.created_by = " + id +
			" OR EXISTS (SELECT 1 FROM cases rc WHERE rc.id = r.case_id AND rc.assigned_to = " + id + ")))"
	case Referred:
		return "r.to_institution = " + a.Add(p.Institution)
	}
	return ""
}

// complaintScope is what the scopes mean for a complaint, aliased k.
func complaintScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	switch sc {
	case Institution:
		if p.Institution == "" {
			return ""
		}
		return "k.institution_code = " + a.Add(p.Institution)
	case Own:
		return "k.submitted_by = " + a.Add(p.UserID)
	case Routed:
		if p.Institution == "" {
			return ""
		}
		return `EXISTS (SELECT 1 FROM complaint_routes r WHERE r.complaint_id = k.id AND r.active AND r.institution_code = ` +
			a.Add(p.Institution) + `)`
	}
	return ""
}

// writtenBy narrows a case scope, for a record of the case written by
// column author: in the transferred scope the previous owner keeps what its
// own staff wrote, and nothing the receiving institution added since; in
// every other scope the record goes with its case.
func writtenBy(author string) func(Scope, *auth.Principal, *postgres.Args) string {
	return func(sc Scope, p *auth.Principal, a *postgres.Args) string {
		cond := caseScope(sc, p, a)
		if sc != Transferred || cond == "" {
			return cond
		}
		return "(" + cond + " AND " + author + " IN (SELECT wu.id FROM users wu WHERE wu.institution_code = " +
			a.Add(p.Institution) + "))"
	}
}

// The kinds of record. Evidence and notes are reached through their case:
// whoever may act on the case in a scope may act on its evidence and notes
// in that scope, except that a case transferred away keeps only what the
// institution wrote (writtenBy).
var (
	Case     = &Kind{Name: "case", From: "cases c", ID: "c.id", scope: caseScope}
	Evidence = &Kind{Name: "evidence", From: "evidence e JOIN cases c ON c.id = e.case_id", ID: "e.id", scope: writtenBy("e.uploaded_by")}
	Note     = &Kind{Name: "note", From: "case_notes n JOIN cases c ON c.id = n.case_id", ID: "n.id", scope: writtenBy("n.author_id")}
	// CaseHeld is a case reached in a scope that follows what happens to
	// it now: every scope but transferred, whose history stops when the
	// case left the institution (see TransferredAt).
	CaseHeld  = &Kind{Name: "case", From: "cases c", ID: "c.id", scope: heldScope}
	Complaint = &Kind{Name: "complaint", From: "complaints k", ID: "k.id", scope: complaintScope}
	// Erasure is the erasure of a case's child identity, aliased x, reached
	// through its case: whoever may act on the case in a scope may read its
	// erasure in that scope.
	Erasure = &Kind{Name: "identity_erasure", From: "identity_erasures x JOIN cases c ON c.id = x.case_id", ID: "x.id", scope: caseScope}
	// Referral is a referral or transfer between institutions, aliased r.
	Referral = &Kind{Name: "referral", From: "referrals r", ID: "r.id", scope: referralScope}
	// User is an account: only a scope of all reaches accounts (admins).
	User = &Kind{Name: "user", From: "users u", ID: "u.id", scope: func(Scope, *auth.Principal, *postgres.Args) string { return "" }}
	// CaseSummary is the statistics summary of cases (stat_case_pairs),
	// aliased c: counts per month and institution, reached in institution
	// scope by the institution's own rows, and in no other scope but all.
	CaseSummary = &Kind{Name: "case", From: "stat_case_pairs c", ID: "c.month", scope: summaryScope}
	// AuditEvent is an event of the trail, aliased e: institution scope
	// reaches what the institution's own staff did.
	AuditEvent = &Kind{Name: "audit_event", From: "audit.events e", ID: "e.id", scope: auditScope}
)

func heldScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	if sc == Transferred {
		return ""
	}
	return caseScope(sc, p, a)
}

// TransferredAt is the SQL instant at which the case whose id is in column
// caseID left the caller's institution by an accepted transfer: what the
// previous owner may see of the case's history ends there. NULL when the
// case never left it.
func TransferredAt(caseID string, p *auth.Principal, a *postgres.Args) string {
	return `(SELECT max(r.responded_at) FROM referrals r WHERE r.case_id = ` + caseID + ` AND r.kind = 'TRANSFER'
  AND r.status = 'ACCEPTED' AND r.from_institution = ` + a.Add(p.Institution) + `)`
}

func summaryScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	if sc == Institution && p.Institution != "" {
		return "c.institution_code = " + a.Add(p.Institution)
	}
	return ""
}

func auditScope(sc Scope, p *auth.Principal, a *postgres.Args) string {
	if sc == Institution && p.Institution != "" {
		return "e.actor_institution = " + a.Add(p.Institution)
	}
	return ""
}

// Alert is an alert of a recipient's inbox, aliased a: its only scope is
// "the recipient is me" (own).
var Alert = &Kind{Name: "alert", From: "alerts a", ID: "a.id", scope: func(sc Scope, p *auth.Principal, a *postgres.Args) string {
	if sc == Own {
		return "a.recipient_id = " + a.Add(p.UserID)
	}
	return ""
}}
