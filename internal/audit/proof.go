package audit

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrProof is the error of VerifyProof for a proof that does not hold.
var ErrProof = errors.New("audit: proof does not hold")

// VerifyProof checks p without the server: the checkpoint must be signed by
// one of the trusted keys, its tree must contain p.Canonical at
// p.LeafIndex (by the audit path in p.Hashes), and p.Canonical must be the
// canonical encoding of event p.EventID. It returns that event.
//
// This is all an oversight body needs to run, with the log's verifier key,
// to know that the event is in the log as signed and, by keeping the
// checkpoint, that no later version of the log can drop or change it.
//
// Errors: ErrProof, wrapped with the reason.
func VerifyProof(p *Proof, trusted ...note.Verifier) (*Entry, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: no proof", ErrProof)
	}
	ck, err := OpenCheckpoint([]byte(p.Checkpoint), note.VerifierList(trusted...))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProof, err)
	}
	if ck.Size != p.TreeSize {
		return nil, fmt.Errorf("%w: the checkpoint is of %d leaves, the proof says %d", ErrProof, ck.Size, p.TreeSize)
	}
	if p.LeafIndex < 0 || p.LeafIndex >= ck.Size {
		return nil, fmt.Errorf("%w: leaf %d is outside a tree of %d leaves", ErrProof, p.LeafIndex, ck.Size)
	}
	if err := tlog.CheckRecord(p.Hashes, ck.Size, ck.Root, p.LeafIndex, tlog.RecordHash(p.Canonical)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProof, err)
	}
	e, err := Decode(p.Canonical)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProof, err)
	}
	if e.ID != p.EventID {
		return nil, fmt.Errorf("%w: the sealed bytes are of event %d, not %d", ErrProof, e.ID, p.EventID)
	}
	return e, nil
}
