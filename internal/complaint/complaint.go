// Package complaint receives complaints (denuncias) about violations of a
// child's rights, mostly at border posts: who complains and how, what
// happened, where and when, the violations alleged and the children
// concerned. The complainant gets a tracking code, shown once, with which to
// follow the complaint's status without an account. Each complaint is routed
// by reviewed rules (routing.go) to the institutions that must act on it,
// which acknowledge, triage, forward or close it (lifecycle.go); a complaint
// that shows a child at risk is linked to a new or existing case, and
// closes with it.
package complaint

import (
	"time"

	"github.com/google/uuid"

	"amparo/internal/casefile"
	"amparo/internal/child"
)

// Status of a complaint.
type Status string

// Statuses: a complaint is RECEIVED on submission, ACKNOWLEDGED by a
// receiving institution, TRIAGED (urgency, violations and routing
// confirmed), and then LINKED to a case, FORWARDED to another institution
// or CLOSED with an outcome. A linked complaint closes with its case.
const (
	Received     Status = "RECEIVED"
	Acknowledged Status = "ACKNOWLEDGED"
	Triaged      Status = "TRIAGED"
	Linked       Status = "LINKED"
	Forwarded    Status = "FORWARDED"
	Closed       Status = "CLOSED"
)

// ComplainantKind is who brought the complaint.
type ComplainantKind string

// Channel is how the complaint arrived.
type Channel string

// Complaint is a complaint as stored.
type Complaint struct {
	ID              uuid.UUID
	Institution     string
	Status          Status
	ComplainantKind ComplainantKind
	Channel         Channel
	Description     string
	Department      *string
	EntryPoint      *string
	OccurredOn      *time.Time
	CaseID          *uuid.UUID
	Violations      []string
	ChildIDs        []uuid.UUID
	SubmittedBy     uuid.UUID
	SubmittedAt     time.Time
	UpdatedAt       time.Time
	Version         int
	// DueAt is the deadline of the current step; nil once linked or closed.
	DueAt            *time.Time
	PerpetratorTypes []casefile.PerpetratorType
	// RoutedTo are the institutions the complaint is routed to now.
	RoutedTo []string
	// Set by triage.
	Urgency           *casefile.Urgency
	TriagedViolations []string
	// Outcome of a closed complaint.
	Outcome *string
	// CaseReference is the linked case's reference: whoever may read the
	// complaint may know it, not the case's content.
	CaseReference *string
}

// ComplainantInput says who complains. An anonymous complainant gives
// neither name nor contact.
type ComplainantInput struct {
	Kind    ComplainantKind
	Name    *string
	Contact *string
}

// SubmitInput is a complaint being submitted.
type SubmitInput struct {
	IdempotencyKey string
	Complainant    ComplainantInput
	Channel        Channel
	Description    string
	DepartmentCode *string
	EntryPoint     *string
	OccurredOn     *time.Time
	Violations     []string
	// PerpetratorTypes say who committed the violations, when the
	// complainant knows: routing uses them.
	PerpetratorTypes []casefile.PerpetratorType
	// Children are children registered with the complaint; ChildIDs are
	// children already known to the institution.
	Children []child.Input
	ChildIDs []uuid.UUID
}

// LinkInput links a complaint to a case: an existing one (CaseID) or one
// filed with it in the same transaction (NewCase).
type LinkInput struct {
	ComplaintID uuid.UUID
	CaseID      *uuid.UUID
	NewCase     *casefile.FileInput
}

// Overdue reports whether the complaint's current step is past its
// deadline at now.
func (c *Complaint) Overdue(now time.Time) bool { return c.DueAt != nil && now.After(*c.DueAt) }
