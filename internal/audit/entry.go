package audit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Entry is one row of audit.events as the trail seals it: every column but
// xid, which only names the transaction that wrote the row.
type Entry struct {
	ID               int64
	OccurredAt       time.Time // whole microseconds, as PostgreSQL keeps it
	ActorID          *uuid.UUID
	ActorInstitution string
	ActorRoles       []string
	Action           string
	ObjectType       string
	ObjectID         string
	Outcome          Outcome
	RequestID        string
	ClientAddr       string
	Details          []byte // the jsonb value as PostgreSQL prints it
}

// The canonical encoding of an Entry, version 1, is the text below: a header
// line, then one line per field, in this order and with these names, each
// ending in a newline (0x0A). It is what the leaf hash covers (RFC 6962:
// SHA-256 of 0x00 followed by these bytes), and what Proof hands out.
//
//	amparo-audit-event v1
//	id 42
//	occurred_at 2026-11-28T09:30:01.123456Z
//	actor_id 0d0c6a43-5b6a-4f55-9a4e-9b3b3f1b2f6c
//	actor_institution 3:PGN
//	actor_roles 2 7:officer 10:supervisor
//	action 9:case:file
//	object_type 4:case
//	object_id 36:6f1b2c1e-8a57-4c47-a8a4-3f0e5d7b9c10
//	outcome 7:SUCCESS
//	request_id 0:
//	client_addr 9:127.0.0.1
//	details 2:{}
//
// Integers are decimal without leading zeros ("-" before a negative one).
// occurred_at is UTC with exactly six fractional digits, years 0001 to 9999.
// actor_id is the lowercase hyphenated UUID, or "-" when there is no actor.
// Every string is its length in bytes, a colon, then the bytes as they are:
// a string may hold newlines or any other byte, the length says where it
// ends. actor_roles is the number of roles followed by each role, as a
// string, after one space. details is the jsonb text exactly as PostgreSQL
// prints it (keys sorted, one space after ':' and ','), so the bytes are the
// same whichever client wrote the value.
//
// Decoding accepts exactly what encoding produces and nothing else, so an
// entry has one encoding and an encoding one entry.
const header = "amparo-audit-event v1\n"

// timeLayout is occurred_at's text form.
const timeLayout = "2006-01-02T15:04:05.000000Z"

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ErrEncoding is the error of Encode for an entry that has no canonical
// encoding, and of Decode for bytes that are not one.
var ErrEncoding = errors.New("audit: not a canonical event encoding")

// Encode returns e's canonical encoding.
//
// Errors: ErrEncoding when OccurredAt is outside years 1 to 9999 or is not
// a whole number of microseconds.
func (e *Entry) Encode() ([]byte, error) {
	return e.AppendEncoding(make([]byte, 0, 256+len(e.Details)))
}

// AppendEncoding appends e's canonical encoding to buf.
func (e *Entry) AppendEncoding(buf []byte) ([]byte, error) {
	var at [len(timeLayout)]byte
	if err := formatTime(&at, e.ID, e.OccurredAt); err != nil {
		return buf, err
	}
	var actor []byte
	if e.ActorID != nil {
		var u [36]byte
		encodeUUID(u[:], *e.ActorID)
		actor = u[:]
	}
	return appendEvent(buf, e.ID, at[:], actor, e.ActorInstitution, e.ActorRoles, e.Action,
		e.ObjectType, e.ObjectID, string(e.Outcome), e.RequestID, e.ClientAddr, e.Details), nil
}

// formatTime writes t in the canonical form into dst.
//
// Errors: ErrEncoding when t is outside years 1 to 9999 or is not a whole
// number of microseconds.
func formatTime(dst *[len(timeLayout)]byte, id int64, t time.Time) error {
	t = t.UTC()
	if t.Before(minTime) || !t.Before(maxTime) || t.Nanosecond()%1000 != 0 {
		return fmt.Errorf("%w: event %d: occurred_at %s out of range or finer than a microsecond", ErrEncoding, id, t)
	}
	var tmp [32]byte // AppendFormat needs some room past the end as it works
	copy(dst[:], t.AppendFormat(tmp[:0], timeLayout))
	return nil
}

// appendEvent is the one canonical encoder. It is generic over strings and
// byte slices so that an Entry and a row read raw from the database (by the
// sealer and Verify, without a string allocated per field) encode through
// the same code. at is the time already in its canonical form, actor the
// canonical UUID or nil.
func appendEvent[S ~string | ~[]byte](buf []byte, id int64, at, actor []byte, inst S, roles []S,
	action, objType, objID, outcome, reqID, addr S, details []byte) []byte {
	buf = append(buf, header...)
	buf = append(buf, "id "...)
	buf = strconv.AppendInt(buf, id, 10)
	buf = append(buf, "\noccurred_at "...)
	buf = append(buf, at...)
	buf = append(buf, "\nactor_id "...)
	if actor == nil {
		buf = append(buf, '-')
	} else {
		buf = append(buf, actor...)
	}
	buf = appendString(append(buf, "\nactor_institution "...), inst)
	buf = append(buf, "\nactor_roles "...)
	buf = strconv.AppendInt(buf, int64(len(roles)), 10)
	for _, r := range roles {
		buf = appendString(append(buf, ' '), r)
	}
	buf = appendString(append(buf, "\naction "...), action)
	buf = appendString(append(buf, "\nobject_type "...), objType)
	buf = appendString(append(buf, "\nobject_id "...), objID)
	buf = appendString(append(buf, "\noutcome "...), outcome)
	buf = appendString(append(buf, "\nrequest_id "...), reqID)
	buf = appendString(append(buf, "\nclient_addr "...), addr)
	buf = appendString(append(buf, "\ndetails "...), details)
	return append(buf, '\n')
}

func appendString[S ~string | ~[]byte](buf []byte, s S) []byte {
	buf = strconv.AppendInt(buf, int64(len(s)), 10)
	buf = append(buf, ':')
	return append(buf, s...)
}

// encodeUUID writes u's lowercase hyphenated form without allocating.
func encodeUUID(dst []byte, u uuid.UUID) {
	const hexdigits = "0123456789abcdef"
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexdigits[b>>4], hexdigits[b&0x0f]
		j += 2
	}
}

// Decode parses a canonical encoding. ActorRoles and Details of the result
// are never nil.
//
// Errors: ErrEncoding, wrapped with what is wrong, when b is not exactly the
// canonical encoding of some entry.
func Decode(b []byte) (*Entry, error) {
	d := decoder{b: b, size: len(b)}
	e := &Entry{}
	d.literal(header)
	d.literal("id ")
	e.ID = d.int()
	d.literal("\noccurred_at ")
	e.OccurredAt = d.time()
	d.literal("\nactor_id ")
	e.ActorID = d.uuid()
	d.literal("\nactor_institution ")
	e.ActorInstitution = d.string()
	d.literal("\nactor_roles ")
	n := d.int()
	if d.err == nil && (n < 0 || n > int64(len(d.b))) {
		d.fail("bad role count")
	}
	e.ActorRoles = []string{}
	for i := int64(0); i < n && d.err == nil; i++ {
		d.literal(" ")
		e.ActorRoles = append(e.ActorRoles, d.string())
	}
	d.literal("\naction ")
	e.Action = d.string()
	d.literal("\nobject_type ")
	e.ObjectType = d.string()
	d.literal("\nobject_id ")
	e.ObjectID = d.string()
	d.literal("\noutcome ")
	e.Outcome = Outcome(d.string())
	d.literal("\nrequest_id ")
	e.RequestID = d.string()
	d.literal("\nclient_addr ")
	e.ClientAddr = d.string()
	d.literal("\ndetails ")
	e.Details = []byte(d.string())
	d.literal("\n")
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

// decoder reads a canonical encoding; the first problem sticks in err and
// makes every later read a no-op.
type decoder struct {
	b    []byte
	size int // of the whole input
	err  error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrEncoding, what, d.size-len(d.b))
	}
}

func (d *decoder) literal(s string) {
	if d.err != nil {
		return
	}
	if !bytes.HasPrefix(d.b, []byte(s)) {
		d.fail(fmt.Sprintf("want %q", s))
		return
	}
	d.b = d.b[len(s):]
}

// int reads a decimal integer in canonical form: what strconv.FormatInt
// writes, and nothing else.
func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	i := 0
	if i < len(d.b) && d.b[i] == '-' {
		i++
	}
	for i < len(d.b) && d.b[i] >= '0' && d.b[i] <= '9' {
		i++
	}
	s := string(d.b[:i])
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != s {
		d.fail("bad integer")
		return 0
	}
	d.b = d.b[i:]
	return n
}

func (d *decoder) string() string {
	n := d.int()
	d.literal(":")
	if d.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(d.b)) {
		d.fail("bad length")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	if len(d.b) < len(timeLayout) {
		d.fail("bad time")
		return time.Time{}
	}
	s := string(d.b[:len(timeLayout)])
	t, err := time.Parse(timeLayout, s)
	if err != nil || t.Before(minTime) || t.Format(timeLayout) != s {
		d.fail("bad time")
		return time.Time{}
	}
	d.b = d.b[len(timeLayout):]
	return t
}

func (d *decoder) uuid() *uuid.UUID {
	if d.err != nil {
		return nil
	}
	if len(d.b) > 0 && d.b[0] == '-' {
		d.b = d.b[1:]
		return nil
	}
	if len(d.b) < 36 {
		d.fail("bad actor_id")
		return nil
	}
	u, err := uuid.ParseBytes(d.b[:36])
	var canon [36]byte
	encodeUUID(canon[:], u)
	if err != nil || !bytes.Equal(canon[:], d.b[:36]) {
		d.fail("bad actor_id")
		return nil
	}
	d.b = d.b[36:]
	return &u
}

// Equal reports whether e and o encode alike: nil and empty lists and
// details are the same, and times are compared as instants.
func (e *Entry) Equal(o *Entry) bool {
	if e.ID != o.ID || !e.OccurredAt.Equal(o.OccurredAt) || (e.ActorID == nil) != (o.ActorID == nil) ||
		e.ActorID != nil && *e.ActorID != *o.ActorID ||
		e.ActorInstitution != o.ActorInstitution || len(e.ActorRoles) != len(o.ActorRoles) ||
		e.Action != o.Action || e.ObjectType != o.ObjectType || e.ObjectID != o.ObjectID ||
		e.Outcome != o.Outcome || e.RequestID != o.RequestID || e.ClientAddr != o.ClientAddr ||
		!bytes.Equal(e.Details, o.Details) {
		return false
	}
	for i := range e.ActorRoles {
		if e.ActorRoles[i] != o.ActorRoles[i] {
			return false
		}
	}
	return true
}

// diff names the fields in which two entries differ, for a finding that
// must say what was changed.
func diff(sealed, now *Entry) string {
	var b bytes.Buffer
	add := func(field string, was, is any) {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s sealed as %q, now %q", field, fmt.Sprint(was), fmt.Sprint(is))
	}
	if sealed.ID != now.ID {
		add("id", sealed.ID, now.ID)
	}
	if !sealed.OccurredAt.Equal(now.OccurredAt) {
		add("occurred_at", sealed.OccurredAt.UTC().Format(timeLayout), now.OccurredAt.UTC().Format(timeLayout))
	}
	actor := func(u *uuid.UUID) string {
		if u == nil {
			return "-"
		}
		return u.String()
	}
	if actor(sealed.ActorID) != actor(now.ActorID) {
		add("actor_id", actor(sealed.ActorID), actor(now.ActorID))
	}
	if sealed.ActorInstitution != now.ActorInstitution {
		add("actor_institution", sealed.ActorInstitution, now.ActorInstitution)
	}
	if fmt.Sprint(sealed.ActorRoles) != fmt.Sprint(now.ActorRoles) || len(sealed.ActorRoles) != len(now.ActorRoles) {
		add("actor_roles", sealed.ActorRoles, now.ActorRoles)
	}
	for _, f := range []struct{ name, was, is string }{
		{"action", sealed.Action, now.Action},
		{"object_type", sealed.ObjectType, now.ObjectType},
		{"object_id", sealed.ObjectID, now.ObjectID},
		{"outcome", string(sealed.Outcome), string(now.Outcome)},
		{"request_id", sealed.RequestID, now.RequestID},
		{"client_addr", sealed.ClientAddr, now.ClientAddr},
		{"details", string(sealed.Details), string(now.Details)},
	} {
		if f.was != f.is {
			add(f.name, f.was, f.is)
		}
	}
	if b.Len() == 0 {
		return "encoding differs"
	}
	return b.String()
}
