package graph

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"amparo/graph/loader"
	"amparo/graph/scalar"
	"amparo/internal/apperr"
	"amparo/internal/casefile"
	"amparo/internal/evidence"
)

// Global object ids (Relay's Global Object Identification) name a record
// of any type: the base64url of "Type:uuid", or "Type:case-uuid:uuid" for
// a record reached through its case (a child, a note, evidence, an
// identity reveal), or "AuditEvent:n" for the event of sequence number n,
// so that Query.node reads it the way its own query does, through the same
// service method and so the same guard decision. They are the nodeId
// field; id stays the UUID (or sequence number) every other field and
// argument uses.

// The record types that implement Node, as their global ids name them.
const (
	nodeCase      = "Case"
	nodeChild     = "Child"
	nodeNote      = "CaseNote"
	nodeEvidence  = "Evidence"
	nodeReveal    = "IdentityReveal"
	nodeComplaint = "Complaint"
	nodeReferral  = "Referral"
	nodeAccount   = "Account"
	nodeAlert     = "Alert"
	nodeErasure   = "IdentityErasure"
	nodeAudit     = "AuditEvent" // its one part is a sequence number, not a UUID
)

// nodeParts is how many UUIDs each type's global id holds.
var nodeParts = map[string]int{nodeCase: 1, nodeChild: 1, nodeNote: 2, nodeEvidence: 2, nodeReveal: 2,
	nodeComplaint: 1, nodeReferral: 1, nodeAccount: 1, nodeAlert: 1, nodeErasure: 1}

// nodeID is the global id of the record of type typ that ids name.
func nodeID(typ string, ids ...uuid.UUID) string {
	parts := []string{typ}
	for _, id := range ids {
		parts = append(parts, id.String())
	}
	return encodeNodeID(parts)
}

// auditNodeID is the global id of the audit event of sequence number id.
func auditNodeID(id int64) string {
	return encodeNodeID([]string{nodeAudit, strconv.FormatInt(id, 10)})
}

func encodeNodeID(parts []string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ":")))
}

// nodeRef is what a global id names: a type, and the UUIDs of nodeParts
// or, for an audit event, its sequence number.
type nodeRef struct {
	typ string
	ids []uuid.UUID
	seq int64
}

// parseNodeID reads a global id, only in the form nodeID and auditNodeID
// write it.
//
// Errors: BAD_USER_INPUT naming "id" when s is not one.
func parseNodeID(s string) (nodeRef, error) {
	bad := &apperr.Error{Kind: apperr.Invalid, Field: "id", Msg: apperr.Text{
		ES: "identificador global no válido (el nodeId de un registro)", EN: "invalid global id (a record's nodeId)"}}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nodeRef{}, bad
	}
	parts := strings.Split(string(raw), ":")
	ref := nodeRef{typ: parts[0]}
	if ref.typ == nodeAudit {
		if len(parts) != 2 {
			return nodeRef{}, bad
		}
		if ref.seq, err = strconv.ParseInt(parts[1], 10, 64); err != nil || ref.seq <= 0 || strconv.FormatInt(ref.seq, 10) != parts[1] {
			return nodeRef{}, bad
		}
		return ref, nil
	}
	if n, ok := nodeParts[ref.typ]; !ok || len(parts) != n+1 {
		return nodeRef{}, bad
	}
	ref.ids = make([]uuid.UUID, len(parts)-1)
	for i, p := range parts[1:] {
		if ref.ids[i], err = uuid.Parse(p); err != nil || ref.ids[i].String() != p {
			return nodeRef{}, bad
		}
	}
	return ref, nil
}

// node reads the record a global id names through the service method of its
// type: a case's own records through the case, which the guard decides on
// (and audits a refusal of) as for case(id:).
//
// Errors: BAD_USER_INPUT for a malformed id; what the service method
// returns; NOT_FOUND for a record not in its case.
func (r *queryResolver) node(ctx context.Context, id string) (scalar.Node, error) {
	ref, err := parseNodeID(id)
	if err != nil {
		return nil, err
	}
	typ, ids := ref.typ, ref.ids
	switch typ {
	case nodeAudit:
		return orNil(r.Svc.Audit.Event(ctx, ref.seq))
	case nodeAlert:
		return orNil(r.Svc.Alerts.Get(ctx, ids[0]))
	case nodeErasure:
		return orNil(r.Svc.Cases.Erasure(ctx, ids[0]))
	case nodeComplaint:
		return orNil(r.Svc.Complaints.Get(ctx, ids[0]))
	case nodeReferral:
		return orNil(r.Svc.Referrals.Get(ctx, ids[0]))
	case nodeAccount:
		return orNil(r.Svc.Users.Get(ctx, ids[0]))
	case nodeReveal:
		reveals, err := r.Svc.Cases.Reveals(ctx, &ids[0])
		return pick(reveals, err, func(v *casefile.Reveal) bool { return v.ID == ids[1] })
	}
	c, err := r.Svc.Cases.Get(ctx, ids[0])
	if err != nil {
		return nil, err
	}
	switch typ {
	case nodeChild:
		return &c.Child, nil
	case nodeNote:
		notes, err := loader.For(ctx).Notes.Load(ctx, c.ID)
		return pick(notes, err, func(n *casefile.Note) bool { return n.ID == ids[1] })
	case nodeEvidence:
		list, err := loader.For(ctx).Evidence.Load(ctx, c.ID)
		return pick(list, err, func(e *evidence.Evidence) bool { return e.ID == ids[1] })
	}
	return c, nil
}

// orNil keeps a typed nil pointer out of the Node interface.
func orNil[T any](v *T, err error) (scalar.Node, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

// pick is the record of list that is wanted: NOT_FOUND when none is.
func pick[T any](list []*T, err error, wanted func(*T) bool) (scalar.Node, error) {
	if err != nil {
		return nil, err
	}
	for _, v := range list {
		if wanted(v) {
			return v, nil
		}
	}
	return nil, &apperr.Error{Op: "graph.node", Kind: apperr.NotFound}
}
