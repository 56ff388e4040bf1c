// Package casefile is the registry of cases: a child at risk, what was done
// to them (violations), where, how urgent, and who works the case. Every
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

// DueAt is when first contact is due for a case of urgency u filed at t:
// the end of the same day for IMMEDIATE, then 24 hours, 72 hours, 5 days.
func (u Urgency) DueAt(t time.Time) time.Time {
	switch u {
	case Immediate:
		l := t.In(guatemala)
		return time.Date(l.Year(), l.Month(), l.Day(), 23, 59, 59, 0, guatemala).UTC()
	case High:
		return t.Add(24 * time.Hour)
	case Medium:
		return t.Add(72 * time.Hour)
	default:
		return t.Add(5 * 24 * time.Hour)
	}
}

// Status of a case. A filed case is OPEN.
type Status string

// Statuses.
const Open Status = "OPEN"

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
	ID           uuid.UUID
	Institution  string
	Reference    string
	Status       Status
	Urgency      Urgency
	DueAt        time.Time
	Department   string
	Municipality *string
	EntryPoint   *string
	Summary      string
	Child        child.Child
	Violations   []Violation
	AssignedTo   *uuid.UUID
	Version      int
	CreatedBy    uuid.UUID
	CreatedAt    time.Time
	UpdatedBy    uuid.UUID
	UpdatedAt    time.Time
	// PossibleDuplicates is set only in the answer to File: the references
	// of other cases, within the filer's search scope, whose child has the
	// same name and birth year (give or take one).
	PossibleDuplicates []string
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
