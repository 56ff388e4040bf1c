// Package casefile is the registry of cases: a child at risk, what was done
// to them (violations), where, how urgent, and who works the case; and the
// case-management workflow that moves a case from registration to closure
// (workflow.go: the allowed moves, deadlines per step), its assignment
// (assign.go) and its timeline (timeline.go). Every
// exported Service method authorizes first (role and record scope), then
// validates, then writes in one transaction together with its audit event.
package casefile

import (
	"time"

	"github.com/google/uuid"

	"amparo/internal/child"
)

// Urgency of a case, which sets when first contact is due.
type Urgency string

// Urgencies.
const (
	Immediate Urgency = "IMMEDIATE"
	High      Urgency = "HIGH"
	Medium    Urgency = "MEDIUM"
	Low       Urgency = "LOW"
)

var guatemala = child.Guatemala

// Status of a case: the step of case management it is at.
type Status string

// Statuses, in the order of the Inter-Agency Guidelines for Case
// Management and Child Protection. A filed case is REGISTERED; the moves
// between them are in workflow.go.
const (
	Registered       Status = "REGISTERED"
	Assessment       Status = "ASSESSMENT"
	CasePlan         Status = "CASE_PLAN"
	Implementation   Status = "IMPLEMENTATION"
	FollowUp         Status = "FOLLOW_UP"
	ClosureRequested Status = "CLOSURE_REQUESTED"
	Closed           Status = "CLOSED"
)

// JourneyStage is where on the journey a violation happened.
type JourneyStage string

// PerpetratorType is who committed a violation.
type PerpetratorType string

// DatePrecision says how much of a date is known: DAY, or MONTH when only
// the month is (the date is then stored as the month's first day).
type DatePrecision string

// Date precisions.
const (
	Day   DatePrecision = "DAY"
	Month DatePrecision = "MONTH"
)

// Case is a case as stored.
type Case struct {
	ID          uuid.UUID
	Institution string
	Reference   string
	Status      Status
	Urgency     Urgency
	// DueAt is the deadline of the current step; nil once closed.
	DueAt *time.Time
	// StepStartedAt is when the current step began; CycleStartedAt when
	// the case was registered or last reopened.
	StepStartedAt  time.Time
	CycleStartedAt time.Time
	// ClosureReason is set while a closure is requested and once closed.
	ClosureReason      *string
	ClosureRequestedBy *uuid.UUID
	Department         string
	Municipality       *string
	EntryPoint         *string
	Summary            string
	summarySealed      []byte // until opened
	Child              child.Child
	Violations         []Violation
	AssignedTo         *uuid.UUID
	Version            int
	CreatedBy          uuid.UUID
	CreatedAt          time.Time
	UpdatedBy          uuid.UUID
	UpdatedAt          time.Time
	// PossibleDuplicates is set only in the answer to File: the references
	// of other cases, within the filer's search scope, whose child has the
	// same name and birth year (give or take one).
	PossibleDuplicates []string
	// IdentityErasedAt is when the child's identity and the case's
	// narratives were erased for good (EraseIdentity).
	IdentityErasedAt *time.Time
}

// Violation is one violation recorded in a case.
type Violation struct {
	Type                 string
	OccurredOn           *time.Time
	OccurredOnPrecision  *DatePrecision
	JourneyStage         *JourneyStage
	PerpetratorType      *PerpetratorType
	TraffickingPurpose   *string
	DiscriminationGround *string
	Description          *string
}

// FileInput is what an officer sends to open a case.
type FileInput struct {
	IdempotencyKey string
	Child          child.Input
	Violations     []ViolationInput
	DepartmentCode string
	Municipality   *string
	EntryPoint     *string
	Urgency        Urgency
	Summary        string
	// Unassigned files the case into the institution's queue instead of
	// assigning it to whoever files it: a case opened from a complaint
	// waits there for a supervisor to assign it.
	Unassigned bool `json:"unassigned,omitempty"`
}

// ViolationInput describes one violation of a new case.
type ViolationInput struct {
	Type                 string
	OccurredOn           *time.Time
	OccurredOnPrecision  *DatePrecision
	JourneyStage         *JourneyStage
	PerpetratorType      *PerpetratorType
	TraffickingPurpose   *string
	DiscriminationGround *string
	Description          *string
}

// Overdue reports whether the case's current step is past its deadline at
// now.
func (c *Case) Overdue(now time.Time) bool { return c.DueAt != nil && now.After(*c.DueAt) }
