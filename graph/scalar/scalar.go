// Package scalar marshals Amparo's GraphQL scalars (ID as UUID, Time, Date).
// Bad input answers BAD_USER_INPUT like any other validation failure, rather
// than an untyped error.
package scalar

import (
	"encoding/json"
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

// MarshalInt64ID writes a numeric ID (an audit event's sequence number).
func MarshalInt64ID(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { io.WriteString(w, strconv.Quote(strconv.FormatInt(id, 10))) })
}

// UnmarshalInt64ID reads a numeric ID, given as a string or a number.
func UnmarshalInt64ID(v any) (int64, error) {
	switch v := v.(type) {
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n, nil
		}
	case int64:
		if v > 0 {
			return v, nil
		}
	case json.Number:
		if n, err := v.Int64(); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, invalid("identificador no válido", "invalid ID")
}

// ParseUUID reads an ID argument that names a case, complaint, evidence or
// user.
//
// Errors: BAD_USER_INPUT naming field.
func ParseUUID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, &apperr.Error{Kind: apperr.Invalid, Field: field, Msg: apperr.Text{ES: "identificador no válido", EN: "invalid ID"}}
	}
	return id, nil
}

// ParseInt64ID reads an ID argument that names an audit event.
//
// Errors: BAD_USER_INPUT naming field.
func ParseInt64ID(field, s string) (int64, error) {
	n, err := UnmarshalInt64ID(s)
	if err != nil {
		return 0, &apperr.Error{Kind: apperr.Invalid, Field: field, Msg: apperr.Text{ES: "identificador no válido", EN: "invalid ID"}}
	}
	return n, nil
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

// Node is a record that implements the GraphQL interface Node: any of the
// record types, which graph/node.go lists.
type Node interface{}
