// Package complaint receives complaints (denuncias) about violations of a
// child's rights, mostly at border posts: who complains and how, what
// happened, where and when, the violations alleged and the children
// concerned. The complainant gets a tracking code, shown once, with which to
// follow the complaint's status without an account. A complaint that shows a
// child at risk is linked to a new or existing case.
package complaint

import (
	"time"

	"github.com/google/uuid"

	"amparo/internal/casefile"
	"amparo/internal/child"
)

// Status of a complaint.
type Status string

// Statuses. A complaint is RECEIVED on submission and LINKED once a case
// takes it up.
const (
	Received Status = "RECEIVED"
	Linked   Status = "LINKED"
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
