// Package scalar marshals Amparo's GraphQL scalars (ID as UUID, Time, Date).
// Bad input answers BAD_USER_INPUT like any other validation failure, rather
// than an untyped error.
package scalar

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"amparo/internal/apperr"
)

// MarshalUUID writes an ID.
func MarshalUUID(id uuid.UUID) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { io.WriteString(w, strconv.Quote(id.String())) })
}

// UnmarshalUUID reads an ID.
func UnmarshalUUID(v any) (uuid.UUID, error) {
	s, ok := v.(string)
	if !ok {
		return uuid.Nil, invalid("un identificador es un texto", "an ID is a string")
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, invalid("identificador no válido", "invalid ID")
	}
	return id, nil
}

// MarshalTime writes an RFC 3339 time in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 time.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, invalid("una hora es un texto RFC 3339", "a time is an RFC 3339 string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid("hora no válida: use RFC 3339 (2026-11-28T09:30:00Z)",
			"invalid time: use RFC 3339 (2026-11-28T09:30:00Z)")
	}
	return t, nil
}

// MarshalDate writes a date as YYYY-MM-DD.
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { io.WriteString(w, strconv.Quote(t.Format(time.DateOnly))) })
}

// UnmarshalDate reads a YYYY-MM-DD date, as midnight UTC.
func UnmarshalDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, invalid("una fecha es un texto AAAA-MM-DD", "a date is a YYYY-MM-DD string")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, invalid(fmt.Sprintf("fecha no válida %q: use AAAA-MM-DD", s),
			fmt.Sprintf("invalid date %q: use YYYY-MM-DD", s))
	}
	return t, nil
}

func invalid(es, en string) error { return apperr.New(apperr.Invalid, es, en) }
