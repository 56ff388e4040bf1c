// Package apperr defines the one closed set of error kinds that Amparo reports
// to its callers, and an Error type that keeps the public message apart from
// the cause.
//
// Every error that leaves a service method is either an *Error or wraps one;
// anything else is reported as INTERNAL with its cause hidden. Messages are
// written in Spanish and English at the place the error is raised, because
// that is where the words that help a border-post officer fix the input are
// known. The presenter in package graph picks the language of the request.
//
// This package imports nothing from Amparo.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error. The set is closed: the presenter maps each kind
// to exactly one extensions.code of the GraphQL contract.
type Kind uint8

// The kinds, in the order of DESIGN.md.
const (
	Internal Kind = iota
	Unauthenticated
	Forbidden
	NotFound
	Invalid
	Conflict
	TooLarge
	UnsupportedMedia
	RateLimited
	Unavailable
)

var codes = [...]string{
	Internal:         "INTERNAL",
	Unauthenticated:  "UNAUTHENTICATED",
	Forbidden:        "FORBIDDEN",
	NotFound:         "NOT_FOUND",
	Invalid:          "BAD_USER_INPUT",
	Conflict:         "CONFLICT",
	TooLarge:         "PAYLOAD_TOO_LARGE",
	UnsupportedMedia: "UNSUPPORTED_MEDIA_TYPE",
	RateLimited:      "RATE_LIMITED",
	Unavailable:      "UNAVAILABLE",
}

// Code is the extensions.code that clients see for the kind.
func (k Kind) Code() string {
	if int(k) < len(codes) {
		return codes[k]
	}
	return codes[Internal]
}

func (k Kind) String() string { return k.Code() }

// Text is a message in the two languages Amparo speaks.
type Text struct {
	ES string
	EN string
}

// In returns the text in lang ("es" or "en"); Spanish is the default.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	if t.ES != "" {
		return t.ES
	}
	return t.EN
}

// defaults are the public messages used when an error carries none.
var defaults = map[Kind]Text{
	Internal:         {"error interno; informe el identificador de correlación", "internal error; report the correlation id"},
	Unauthenticated:  {"se requiere autenticación", "authentication required"},
	Forbidden:        {"no tiene permiso para esta acción", "you are not allowed to do this"},
	NotFound:         {"no encontrado", "not found"},
	Invalid:          {"datos no válidos", "invalid input"},
	Conflict:         {"conflicto con el estado actual del registro", "conflict with the current state of the record"},
	TooLarge:         {"el archivo excede el tamaño permitido", "the file exceeds the allowed size"},
	UnsupportedMedia: {"tipo de archivo no admitido", "unsupported file type"},
	RateLimited:      {"demasiadas solicitudes; intente más tarde", "too many requests; try again later"},
	Unavailable:      {"servicio no disponible temporalmente; intente de nuevo", "service temporarily unavailable; try again"},
}

// Error is an error with a kind, a public message and a hidden cause.
type Error struct {
	Op    string // operation that failed, such as "casefile.File"
	Kind  Kind
	Field string // input path for Invalid, such as "child.dateOfBirth"
	Msg   Text   // public message; empty means the kind's default
	Err   error  // cause; logged, never shown
	// Fields holds every problem of an Invalid error that reports several
	// at once. Each element has Kind Invalid and a Field.
	Fields []*Error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Code())
	if e.Field != "" {
		b.WriteString(" ")
		b.WriteString(e.Field)
	}
	if m := e.Msg.In("en"); m != "" {
		b.WriteString(": ")
		b.WriteString(m)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Msg.In("en"))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Message is the public message in lang.
func (e *Error) Message(lang string) string {
	if e.Msg.ES != "" || e.Msg.EN != "" {
		return e.Msg.In(lang)
	}
	return defaults[e.Kind].In(lang)
}

// New returns an error of kind with a public message in both languages.
func New(kind Kind, es, en string) *Error {
	return &Error{Kind: kind, Msg: Text{ES: es, EN: en}}
}

// E returns an error of kind with the kind's default message.
func E(kind Kind) *Error { return &Error{Kind: kind} }

// Wrap marks err as having happened in op. An *Error keeps its kind and
// message; any other error becomes INTERNAL with err as the hidden cause.
// Wrap(op, nil) is nil.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		cp := *ae
		if cp.Op == "" {
			cp.Op = op
		} else {
			cp.Op = op + ": " + cp.Op
		}
		return &cp
	}
	return &Error{Op: op, Kind: Internal, Err: err}
}

// KindOf returns the kind of err: the kind of the first *Error in its chain,
// or Internal.
func KindOf(err error) Kind {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return Internal
}

// Is reports whether err is of kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var ae *Error
	ok := errors.As(err, &ae)
	return ae, ok
}
