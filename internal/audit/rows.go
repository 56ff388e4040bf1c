package audit

import (
	"bytes"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// entryColumns are the columns of audit.events that an Entry holds, in the
// order scanEntry reads them. The sealer and Verify read rows the same way,
// so that an unchanged row encodes to the same bytes for both.
const entryColumns = `e.id, e.occurred_at, e.actor_id, e.actor_institution, e.actor_roles, e.action,
  e.object_type, e.object_id, e.outcome, e.request_id, e.client_addr, e.details`

// rawColumns are what rawRow reads: entryColumns, but occurred_at as
// PostgreSQL prints it (rawRow reads it faster than the driver), and the
// seven plain text columns in one, each as its length in bytes, a colon
// and its bytes: the driver's cost is per column, and it is most of the
// cost of reading a row. A NULL in any of them makes the whole one NULL,
// which the driver gives as nil, where an empty string is not.
const rawColumns = `e.id, e.occurred_at::text, e.actor_id, e.actor_roles, e.details,
  octet_length(e.actor_institution) || ':' || e.actor_institution ||
  octet_length(e.action) || ':' || e.action ||
  octet_length(e.object_type) || ':' || e.object_type ||
  octet_length(e.object_id) || ':' || e.object_id ||
  octet_length(e.outcome) || ':' || e.outcome ||
  octet_length(e.request_id) || ':' || e.request_id ||
  octet_length(e.client_addr) || ':' || e.client_addr`

type scanner interface{ Scan(dest ...any) error }

// entryScan holds the scan targets of one row; reused across rows so that a
// long scan does not allocate per row more than the values themselves.
type entryScan struct {
	e     Entry
	at    time.Time
	actor uuid.NullUUID
	roles pq.StringArray
	out   string
}

func (s *entryScan) targets(extra ...any) []any {
	return append([]any{&s.e.ID, &s.at, &s.actor, &s.e.ActorInstitution, &s.roles, &s.e.Action,
		&s.e.ObjectType, &s.e.ObjectID, &s.out, &s.e.RequestID, &s.e.ClientAddr, &s.e.Details}, extra...)
}

// finish completes s.e after a Scan into s.targets().
func (s *entryScan) finish() *Entry {
	s.e.OccurredAt = s.at.UTC()
	s.e.ActorID = nil
	if s.actor.Valid {
		u := s.actor.UUID
		s.e.ActorID = &u
	}
	s.e.ActorRoles = []string(s.roles)
	if s.e.ActorRoles == nil {
		s.e.ActorRoles = []string{}
	}
	s.e.Outcome = Outcome(s.out)
	return &s.e
}

// scanEntry reads one row selected with entryColumns, then extra columns.
func scanEntry(sc scanner, extra ...any) (*Entry, error) {
	var s entryScan
	if err := sc.Scan(s.targets(extra...)...); err != nil {
		return nil, err
	}
	return s.finish(), nil
}

// parseXID reads an xid8 printed as text.
func parseXID(s string) (uint64, error) {
	x, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("audit: bad transaction id %q", s)
	}
	return x, nil
}

// rawRow reads a row selected with rawColumns with as few allocations as
// it can: the sealer and Verify encode hundreds of thousands of rows a
// second this way. It accepts exactly what scanEntry accepts and encodes a
// row to the same bytes (see TestAuditRawRowsEncodeAsEntries); unusual
// values (quoted array elements, times in another zone) take scanEntry's
// parsers.
type rawRow struct {
	id                               int64
	at, actor, roles, details, plain sql.RawBytes
	text                             [7][]byte // actor_institution, action, object_type, object_id, outcome, request_id, client_addr
	list                             [][]byte
	time                             [len(timeLayout)]byte
	when                             time.Time
	uuid                             [36]byte
}

func (r *rawRow) targets(extra ...any) []any {
	return append([]any{&r.id, &r.at, &r.actor, &r.roles, &r.details, &r.plain}, extra...)
}

// appendEncoding appends the row's canonical encoding to buf.
func (r *rawRow) appendEncoding(buf []byte) ([]byte, error) {
	if r.plain == nil || r.roles == nil || r.details == nil {
		return buf, fmt.Errorf("%w: event %d: NULL in a column that may hold none", ErrEncoding, r.id)
	}
	rest := []byte(r.plain)
	for i := range r.text {
		var ok bool
		if r.text[i], rest, ok = cutString(rest); !ok {
			return buf, fmt.Errorf("%w: event %d: text columns garbled", ErrEncoding, r.id)
		}
	}
	if len(rest) != 0 {
		return buf, fmt.Errorf("%w: event %d: text columns garbled", ErrEncoding, r.id)
	}
	var ok bool
	if r.when, ok = pgTimeCanonical(&r.time, r.at); !ok {
		// Any other form of the time (another session time zone, a year
		// before 1000): read as scanEntry reads it.
		t, err := pq.ParseTimestamp(time.UTC, string(r.at))
		if err != nil {
			return buf, fmt.Errorf("%w: event %d: occurred_at %q", ErrEncoding, r.id, r.at)
		}
		if err := formatTime(&r.time, r.id, t); err != nil {
			return buf, err
		}
		r.when = t.UTC()
	}
	var actor []byte
	if a := r.actor; a != nil {
		if isCanonicalUUID(a) {
			actor = a
		} else {
			u, err := uuid.ParseBytes(a)
			if err != nil {
				return buf, fmt.Errorf("%w: event %d: actor_id %q", ErrEncoding, r.id, a)
			}
			encodeUUID(r.uuid[:], u)
			actor = r.uuid[:]
		}
	}
	var err error
	if r.list, err = parsePGArray(r.list[:0], r.roles); err != nil {
		return buf, fmt.Errorf("%w: event %d: actor_roles: %v", ErrEncoding, r.id, err)
	}
	t := &r.text
	return appendEvent(buf, r.id, r.time[:], actor, t[0], r.list, t[1], t[2], t[3], t[4], t[5], t[6], r.details), nil
}

// cutString reads one length-prefixed string, as rawColumns frames them,
// off the front of b.
func cutString(b []byte) (s, rest []byte, ok bool) {
	n, i := 0, 0
	for ; i < len(b) && i < 10 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i == len(b) || b[i] != ':' || len(b)-i-1 < n {
		return nil, nil, false
	}
	return b[i+1 : i+1+n], b[i+1+n:], true
}

// pgTimeCanonical reads the form PostgreSQL prints a timestamptz in with
// TimeZone UTC and DateStyle ISO, "2026-11-28 09:30:01.12+00", and writes
// the canonical form into dst. It declines anything else.
func pgTimeCanonical(out *[len(timeLayout)]byte, b []byte) (time.Time, bool) {
	// 2006-01-02 15:04:05[.ffffff]+00, years 1000 to 9999
	if len(b) < 22 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' || b[0] == '0' {
		return time.Time{}, false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if b[i] < '0' || b[i] > '9' {
			return time.Time{}, false
		}
	}
	rest := b[19:]
	var frac [6]byte
	for i := range frac {
		frac[i] = '0'
	}
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 || i > 7 {
			return time.Time{}, false
		}
		copy(frac[:], rest[1:i])
		rest = rest[i:]
	}
	if len(rest) != 3 || rest[0] != '+' || rest[1] != '0' || rest[2] != '0' {
		return time.Time{}, false
	}
	d2 := func(i int) int { return int(b[i]-'0')*10 + int(b[i+1]-'0') }
	year := d2(0)*100 + d2(2)
	month, day, hour, minute, sec := d2(5), d2(8), d2(11), d2(14), d2(17)
	micros := 0
	for _, c := range frac {
		micros = micros*10 + int(c-'0')
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, micros*1000, time.UTC)
	if month < 1 || month > 12 || t.Day() != day || t.Hour() != hour || t.Minute() != minute || t.Second() != sec {
		return time.Time{}, false // 31 February, 25 o'clock: not PostgreSQL's
	}
	dst := append(out[:0], b[:10]...)
	dst = append(dst, 'T')
	dst = append(dst, b[11:19]...)
	dst = append(dst, '.')
	dst = append(dst, frac[:]...)
	_ = append(dst, 'Z')
	return t, true
}

// isCanonicalUUID reports whether b is a UUID in lowercase hyphenated form,
// which is how PostgreSQL prints one.
func isCanonicalUUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// parsePGArray reads a text[] as PostgreSQL prints it into dst. Elements
// that need no quoting, "{officer,supervisor}", are sliced out of b by
// hand; any other form goes through pq.StringArray, as scanEntry's does.
func parsePGArray(dst [][]byte, b []byte) ([][]byte, error) {
	if len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' {
		inner := b[1 : len(b)-1]
		if len(inner) == 0 {
			return dst, nil
		}
		simple := true
		start := 0
		for i := 0; i <= len(inner) && simple; i++ {
			if i < len(inner) {
				switch c := inner[i]; c {
				case '"', '\\', '{', '}', ' ', '\t', '\n', '\r', '\v', '\f':
					simple = false
				}
				if inner[i] != ',' {
					continue
				}
			}
			el := inner[start:i]
			if len(el) == 0 || len(el) == 4 && bytes.EqualFold(el, []byte("NULL")) {
				simple = false
				break
			}
			dst = append(dst, el)
			start = i + 1
		}
		if simple {
			return dst, nil
		}
		dst = dst[:0]
	}
	var a pq.StringArray
	if err := a.Scan([]byte(b)); err != nil {
		return dst, err
	}
	for _, s := range a {
		dst = append(dst, []byte(s))
	}
	return dst, nil
}
