package audit

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func sampleEntry() *Entry {
	actor := uuid.MustParse("0d0c6a43-5b6a-4f55-9a4e-9b3b3f1b2f6c")
	return &Entry{
		ID:               42,
		OccurredAt:       time.Date(2026, 11, 28, 9, 30, 1, 123456000, time.UTC),
		ActorID:          &actor,
		ActorInstitution: "PGN",
		ActorRoles:       []string{"officer", "supervisor"},
		Action:           "case:file",
		ObjectType:       "case",
		ObjectID:         "6f1b2c1e-8a57-4c47-a8a4-3f0e5d7b9c10",
		Outcome:          Success,
		RequestID:        "",
		ClientAddr:       "127.0.0.1",
		Details:          []byte("{}"),
	}
}

// The documented example, byte for byte: the encoding is a published
// format that verifiers outside Amparo rely on, so it must not drift.
func TestAuditEncodingGolden(t *testing.T) {
	want := "amparo-audit-event v1\n" +
		"id 42\n" +
		"occurred_at 2026-11-28T09:30:01.123456Z\n" +
		"actor_id 0d0c6a43-5b6a-4f55-9a4e-9b3b3f1b2f6c\n" +
		"actor_institution 3:PGN\n" +
		"actor_roles 2 7:officer 10:supervisor\n" +
		"action 9:case:file\n" +
		"object_type 4:case\n" +
		"object_id 36:6f1b2c1e-8a57-4c47-a8a4-3f0e5d7b9c10\n" +
		"outcome 7:SUCCESS\n" +
		"request_id 0:\n" +
		"client_addr 9:127.0.0.1\n" +
		"details 2:{}\n"
	got, err := sampleEntry().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, want)
	}
	e, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Equal(sampleEntry()) {
		t.Fatalf("Decode(Encode(e)) = %+v", e)
	}
}

func TestAuditEncodingEdgeCases(t *testing.T) {
	for name, mod := range map[string]func(e *Entry){
		"NoActor":           func(e *Entry) { e.ActorID = nil; e.ActorRoles = nil; e.ActorInstitution = "" },
		"NewlinesInStrings": func(e *Entry) { e.ObjectID = "a\nb\n\n"; e.ActorRoles = []string{"x\ny", ""} },
		"ColonsAndSpaces":   func(e *Entry) { e.Action = "3:abc def"; e.ClientAddr = " 9: " },
		"NegativeID":        func(e *Entry) { e.ID = -7 },
		"FirstYear":         func(e *Entry) { e.OccurredAt = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) },
		"LastMicrosecond":   func(e *Entry) { e.OccurredAt = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC) },
		"OtherZone":         func(e *Entry) { e.OccurredAt = e.OccurredAt.In(time.FixedZone("GT", -6*3600)) },
		"BinaryDetails":     func(e *Entry) { e.Details = []byte{0, 0xff, '\n'} },
	} {
		t.Run(name, func(t *testing.T) {
			e := sampleEntry()
			mod(e)
			b, err := e.Encode()
			if err != nil {
				t.Fatal(err)
			}
			d, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v\n%q", err, b)
			}
			if !d.Equal(e) {
				t.Fatalf("round trip changed the entry: %+v", d)
			}
		})
	}
}

func TestAuditEncodeRefusesUnrepresentableTimes(t *testing.T) {
	for name, at := range map[string]time.Time{
		"Nanoseconds": time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC),
		"YearZero":    time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC),
		"Year10000":   time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			e := sampleEntry()
			e.OccurredAt = at
			if _, err := e.Encode(); !errors.Is(err, ErrEncoding) {
				t.Fatalf("Encode = %v, want ErrEncoding", err)
			}
		})
	}
}

func TestAuditDecodeRefusesNonCanonical(t *testing.T) {
	good, _ := sampleEntry().Encode()
	for name, b := range map[string][]byte{
		"Empty":          nil,
		"OtherVersion":   bytes.Replace(good, []byte("v1"), []byte("v2"), 1),
		"LeadingZeroID":  bytes.Replace(good, []byte("id 42"), []byte("id 042"), 1),
		"PlusID":         bytes.Replace(good, []byte("id 42"), []byte("id +42"), 1),
		"MinusZero":      bytes.Replace(good, []byte("id 42"), []byte("id -0"), 1),
		"ShortFraction":  bytes.Replace(good, []byte(".123456Z"), []byte(".12345Z"), 1),
		"NotUTC":         bytes.Replace(good, []byte(".123456Z"), []byte(".123456+00:00"), 1),
		"UpperUUID":      bytes.Replace(good, []byte("0d0c6a43"), []byte("0D0C6A43"), 1),
		"LengthTooLong":  bytes.Replace(good, []byte("3:PGN"), []byte("4:PGN"), 1),
		"LengthTooShort": bytes.Replace(good, []byte("3:PGN"), []byte("2:PGN"), 1),
		"RoleCountOff":   bytes.Replace(good, []byte("actor_roles 2"), []byte("actor_roles 3"), 1),
		"FieldsSwapped":  bytes.Replace(good, []byte("action 9:case:file\nobject_type 4:case"), []byte("object_type 4:case\naction 9:case:file"), 1),
		"TrailingBytes":  append(bytes.Clone(good), 'x'),
		"MissingNewline": good[:len(good)-1],
		"HugeLength":     bytes.Replace(good, []byte("details 2:"), []byte("details 99999999999999999999:"), 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(b); !errors.Is(err, ErrEncoding) {
				t.Fatalf("Decode = %v, want ErrEncoding", err)
			}
		})
	}
}

// FuzzAuditEncode: decoding an encoding gives the entry back. That makes
// the encoding injective, which is what a hash over it needs: if two
// entries encoded alike, decoding would give both.
func FuzzAuditEncode(f *testing.F) {
	e := sampleEntry()
	f.Add(e.ID, e.OccurredAt.UnixMicro(), true, e.ActorID[:], e.ActorInstitution, "officer\x00supervisor", e.Action,
		e.ObjectType, e.ObjectID, string(e.Outcome), e.RequestID, e.ClientAddr, e.Details)
	f.Add(int64(-1), int64(0), false, []byte{}, "", "", "", "", "", "", "", "", []byte{})
	f.Fuzz(func(t *testing.T, id, micros int64, hasActor bool, actor []byte, inst, roles, action, objType, objID, outcome, reqID, addr string, details []byte) {
		at := time.UnixMicro(micros).UTC()
		if at.Before(minTime) || !at.Before(maxTime) {
			t.Skip()
		}
		e := &Entry{ID: id, OccurredAt: at, ActorInstitution: inst, Action: action, ObjectType: objType, ObjectID: objID,
			Outcome: Outcome(outcome), RequestID: reqID, ClientAddr: addr, Details: details}
		if hasActor {
			var u uuid.UUID
			copy(u[:], actor)
			e.ActorID = &u
		}
		if roles != "" {
			e.ActorRoles = splitRoles(roles)
		}
		b, err := e.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(e)): %v\n%q", err, b)
		}
		if !d.Equal(e) {
			t.Fatalf("Decode(Encode(e)) = %+v, want %+v", d, e)
		}
		again, _ := d.Encode()
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%q\n%q", again, b)
		}
	})
}

func splitRoles(s string) []string {
	var out []string
	for _, r := range bytes.Split([]byte(s), []byte{0}) {
		out = append(out, string(r))
	}
	return out
}

// FuzzAuditDecode: whatever decodes encodes back to the same bytes, so an
// entry has exactly one encoding and no two byte strings hash as the same
// event.
func FuzzAuditDecode(f *testing.F) {
	good, _ := sampleEntry().Encode()
	f.Add(good)
	f.Add([]byte(header + "id 0\noccurred_at 0001-01-01T00:00:00.000000Z\nactor_id -\nactor_institution 0:\nactor_roles 0\naction 0:\nobject_type 0:\nobject_id 0:\noutcome 0:\nrequest_id 0:\nclient_addr 0:\ndetails 0:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("Decode error %v is not ErrEncoding", err)
			}
			return
		}
		again, err := e.Encode()
		if err != nil {
			t.Fatalf("Encode(Decode(b)): %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("Encode(Decode(b)) differs from b:\n%q\n%q", again, b)
		}
	})
}
