package casefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/keys"
	"amparo/internal/narrative"
	"amparo/internal/postgres"
)

// PermNoteAdd is the permission to write notes on a case.
const PermNoteAdd = "note:add"

const maxNote = 8000

// Note is an entry in a case's log. Notes are never edited or deleted: a
// correction is a new note pointing to the one it corrects, so that what an
// officer knew and when stays on record.
type Note struct {
	ID        uuid.UUID     `db:"id"`
	CaseID    uuid.UUID     `db:"case_id"`
	Text      string        `db:"-"` // sealed at rest (narrative.NoteText)
	Corrects  uuid.NullUUID `db:"corrects"`
	AuthorID  uuid.UUID     `db:"author_id"`
	CreatedAt time.Time     `db:"created_at"`
}

// noteRow is a note as stored, its text sealed.
type noteRow struct {
	Note
	Sealed []byte `db:"text_sealed"`
}

// NoteInput is a note being added.
type NoteInput struct {
	CaseID   uuid.UUID
	Text     string
	Corrects *uuid.UUID
}

// AddNote appends a note to a case.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without note:add; NOT_FOUND when the
// case lies outside the caller's scope; BAD_USER_INPUT for empty or long
// text, or a corrected note that is not of this case; CONFLICT on a case
// whose narratives were erased.
func (s *Service) AddNote(ctx context.Context, in NoteInput) (*Note, error) {
	const op = "casefile.AddNote"
	d, err := s.guard.Check(ctx, PermNoteAdd, authz.On(authz.Case, in.CaseID))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	var v apperr.Validation
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" {
		v.Add("text", "la nota está vacía", "the note is empty")
	} else {
		v.Text("text", in.Text, maxNote)
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	n := &Note{ID: uuid.New(), CaseID: in.CaseID, Text: in.Text, AuthorID: p.UserID, CreatedAt: s.now().UTC()}
	if in.Corrects != nil {
		n.Corrects = uuid.NullUUID{UUID: *in.Corrects, Valid: true}
	}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		key, err := s.keys.Vault.Get(ctx, tx, keys.OwnerCase, in.CaseID)
		if errors.Is(err, keys.ErrNoKey) {
			return apperr.New(apperr.Conflict, "la identidad y los relatos de este caso fueron borrados: no admite notas",
				"this case's identity and narratives were erased: it takes no notes")
		}
		if err != nil {
			return err
		}
		if in.Corrects != nil {
			var ok bool
			err := tx.GetContext(ctx, &ok, `SELECT true FROM case_notes WHERE id = $1 AND case_id = $2`, *in.Corrects, in.CaseID)
			if errors.Is(err, sql.ErrNoRows) {
				return &apperr.Error{Kind: apperr.Invalid, Field: "corrects", Msg: apperr.Text{
					ES: "la nota corregida no pertenece a este caso", EN: "the corrected note is not of this case"}}
			}
			if err != nil {
				return err
			}
		}
		const q = `
INSERT INTO case_notes (id, case_id, text_sealed, corrects, author_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6)`
		if _, err := tx.ExecContext(ctx, q, n.ID, n.CaseID, narrative.NoteText.Seal(key, n.ID.String(), &n.Text),
			n.Corrects, n.AuthorID, n.CreatedAt); err != nil {
			return fmt.Errorf("insert note: %w", err)
		}
		details := map[string]any{"case": in.CaseID}
		if in.Corrects != nil {
			details["corrects"] = *in.Corrects
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermNoteAdd, ObjectType: "note", ObjectID: n.ID.String(), Details: details})
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return n, nil
}

// NotesByCases returns the notes of each case, oldest first, for those of
// the cases the caller may read (a loader batches this); the others have
// none in the result.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; UNAVAILABLE.
func (s *Service) NotesByCases(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Note, error) {
	d, ids, err := s.guard.Filter(ctx, PermRead, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap("casefile.NotesByCases", err)
	}
	// A case may be readable while some of its notes are not (a case
	// transferred away keeps only what its institution wrote).
	args := postgres.Args{postgres.UUIDs(ids)}
	q := `SELECT n.id, n.case_id, n.text_sealed, n.corrects, n.author_id, n.created_at FROM ` + authz.Note.From +
		` WHERE n.case_id = ANY($1::uuid[]) AND ` + d.Where(authz.Note, &args) + ` ORDER BY n.created_at, n.id`
	var notes []noteRow
	if err := sqlx.SelectContext(ctx, s.db, &notes, q, args...); err != nil {
		return nil, postgres.MapError(err)
	}
	ks, err := s.keys.Vault.GetMany(ctx, s.db, keys.OwnerCase, ids)
	if err != nil {
		return nil, apperr.Wrap("casefile.NotesByCases", err)
	}
	out := make(map[uuid.UUID][]*Note, len(ids))
	for i := range notes {
		n := &notes[i].Note
		if n.Text, err = narrative.NoteText.Text(ks, n.CaseID, n.ID.String(), notes[i].Sealed); err != nil {
			return nil, apperr.Wrap("casefile.NotesByCases", err)
		}
		out[n.CaseID] = append(out[n.CaseID], n)
	}
	return out, nil
}

// NoteCounts counts the notes of each case the caller may read.
//
// Errors: as NotesByCases.
func (s *Service) NoteCounts(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int, error) {
	d, ids, err := s.guard.Filter(ctx, PermRead, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap("casefile.NoteCounts", err)
	}
	args := postgres.Args{postgres.UUIDs(ids)}
	return postgres.CountByCase(ctx, s.db, authz.Note.From, "n.case_id", d.Where(authz.Note, &args), args)
}
