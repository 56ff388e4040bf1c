// Package referral is how a case moves between institutions: a referral
// asks another institution for services for the child (shelter, legal
// representation, asylum, health, ...), a transfer hands the case itself
// over. Both travel under the consent of the child or a carer, or, when
// none was given, a legal basis with a written justification.
//
// Least access: before it accepts, the receiving institution sees a
// summary only (urgency, violation categories, age band, sex, services
// asked, due time), kept on the referral as it was when sent; once it
// accepts, the case's own scopes (authz: referred, referred_identity,
// referred_history, transferred) decide what it reads. Every exported
// Service method authorizes first (authz.Guard), validates, then writes in
// one transaction together with its audit event.
package referral

import (
	"time"

	"github.com/google/uuid"

	"amparo/internal/casefile"
	"amparo/internal/child"
)

// Permissions used by this package.
const (
	PermRefer    = "case:refer"    // a referral of a case (case scope)
	PermTransfer = "case:transfer" // a transfer of a case (case scope)
	PermRead     = "referral:read"
	PermRespond  = "referral:respond"
	PermWithdraw = "referral:withdraw"
	PermComplete = "referral:complete"
)

// Kind says what a referral asks: services, or the case itself.
type Kind string

// Kinds.
const (
	KindReferral Kind = "REFERRAL"
	KindTransfer Kind = "TRANSFER"
)

// Status of a referral. PENDING until the recipient answers (ACCEPTED or
// DECLINED) or the sender withdraws it (WITHDRAWN); an accepted referral is
// COMPLETED by the recipient once the services are delivered.
type Status string

// Statuses.
const (
	Pending   Status = "PENDING"
	Accepted  Status = "ACCEPTED"
	Declined  Status = "DECLINED"
	Completed Status = "COMPLETED"
	Withdrawn Status = "WITHDRAWN"
)

var statuses = []Status{Pending, Accepted, Declined, Completed, Withdrawn}

// Who may consent for a child, and the legal bases for a referral made
// without consent.
var (
	consenters = []string{"CHILD", "CAREGIVER", "GUARDIAN"}
	bases      = []string{"BEST_INTERESTS", "LEGAL_OBLIGATION", "VITAL_INTEREST"}
)

// ResponseWindow is how long the recipient has to answer a referral of
// urgency u: 24 hours for IMMEDIATE and HIGH, 72 hours otherwise.
func ResponseWindow(u casefile.Urgency) time.Duration {
	if u == casefile.Immediate || u == casefile.High {
		return 24 * time.Hour
	}
	return 72 * time.Hour
}

// Consent is under what a referral's data travels: given (by whom, when),
// or not given and then a legal basis with a written justification.
type Consent struct {
	Given bool
	By    *string
	At    *time.Time
	Basis *string
	// Justification is narrative: it stays in the referral, and the audit
	// trail holds only its SHA-256.
	Justification *string
}

// Referral is a referral or transfer as stored.
type Referral struct {
	ID            uuid.UUID
	CaseID        uuid.UUID
	Kind          Kind
	Status        Status
	From, To      string
	Services      []string
	Urgency       casefile.Urgency
	DueAt         time.Time
	Overdue       bool // pending past DueAt, when read
	ShareIdentity bool
	Consent       Consent
	// The summary the recipient sees before accepting, as when referred.
	AgeBand    *child.AgeBand
	Sex        child.Sex
	Categories []string
	// Reason is why the case is referred: case content, shown only to whoever
	// may read the case.
	Reason            string
	ResponseReason    *string
	ServicesDelivered []string
	CloseReason       *string
	CreatedBy         uuid.UUID
	CreatedAt         time.Time
	RespondedBy       *uuid.UUID
	RespondedAt       *time.Time
	ClosedBy          *uuid.UUID
	ClosedAt          *time.Time
	Version           int
}

// ConsentInput is the consent sent with a referral.
type ConsentInput struct {
	Given bool
	// By is CHILD, CAREGIVER or GUARDIAN, when given.
	By *string
	// GivenAt is when consent was given; now when not said.
	GivenAt *time.Time
	// Basis is BEST_INTERESTS, LEGAL_OBLIGATION or VITAL_INTEREST, when not given.
	Basis         *string
	Justification *string
}

// ReferInput refers or transfers a case.
type ReferInput struct {
	CaseID        uuid.UUID
	ToInstitution string
	Kind          Kind
	Services      []string
	Reason        string
	// Urgency of the referral; the case's when not said.
	Urgency       *casefile.Urgency
	ShareIdentity bool
	Consent       ConsentInput
}

// RespondInput accepts or declines a referral.
type RespondInput struct {
	ReferralID      uuid.UUID
	Accept          bool
	Reason          *string
	ExpectedVersion *int
}

// WithdrawInput withdraws a pending referral.
type WithdrawInput struct {
	ReferralID uuid.UUID
	Reason     *string
}

// CompleteInput closes an accepted referral with the services delivered.
type CompleteInput struct {
	ReferralID        uuid.UUID
	ServicesDelivered []string
	Reason            *string
}

// Filter narrows a list of referrals within the caller's scope.
type Filter struct {
	// Direction is INCOMING (addressed to the caller's institution) or
	// OUTGOING (made by it).
	Direction *string
	Status    []string
	Overdue   *bool
	CaseID    *uuid.UUID
	Kind      *Kind
}
