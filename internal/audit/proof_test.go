package audit

import (
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// proofFixture builds a log of n events in memory, the way the sealer
// does, with no database: VerifyProof must stand on its own.
func proofFixture(t *testing.T, n int) (*Signer, memHashes, [][]byte, []byte) {
	t.Helper()
	s := testSigner(t, "amparo.audit/proof-test")
	var (
		all    memHashes
		bodies [][]byte
	)
	for i := range n {
		e := sampleEntry()
		e.ID = int64(100 + 3*i) // gaps, as rolled-back transactions leave
		e.OccurredAt = e.OccurredAt.Add(time.Duration(i) * time.Second)
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), b, all)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, hs...)
		bodies = append(bodies, b)
	}
	root, err := tlog.TreeHash(int64(n), all)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := SignCheckpoint(Checkpoint{Origin: s.Name(), Size: int64(n), Root: root}, s)
	if err != nil {
		t.Fatal(err)
	}
	return s, all, bodies, ck
}

func makeProof(t *testing.T, all memHashes, bodies [][]byte, ck []byte, leaf int) *Proof {
	t.Helper()
	hs, err := tlog.ProveRecord(int64(len(bodies)), int64(leaf), all)
	if err != nil {
		t.Fatal(err)
	}
	return &Proof{EventID: int64(100 + 3*leaf), LeafIndex: int64(leaf), Canonical: bodies[leaf],
		TreeSize: int64(len(bodies)), Hashes: hs, Checkpoint: string(ck)}
}

func TestAuditVerifyProof(t *testing.T) {
	s, all, bodies, ck := proofFixture(t, 37)
	for _, leaf := range []int{0, 1, 17, 32, 36} {
		p := makeProof(t, all, bodies, ck, leaf)
		e, err := VerifyProof(p, s.Verifier())
		if err != nil {
			t.Fatalf("leaf %d: %v", leaf, err)
		}
		if e.ID != p.EventID || e.Action != "case:file" {
			t.Fatalf("leaf %d: entry %+v", leaf, e)
		}
	}

	other := testSigner(t, "amparo.audit/proof-test")
	for name, tamper := range map[string]func(p *Proof){
		"EditedEventFails": func(p *Proof) {
			e, _ := Decode(p.Canonical)
			e.Action = "case:read"
			p.Canonical, _ = e.Encode()
		},
		"OtherLeafIndexFails": func(p *Proof) { p.LeafIndex++ },
		"OtherEventIDFails":   func(p *Proof) { p.EventID++ },
		"EditedHashFails":     func(p *Proof) { p.Hashes[0][0] ^= 1 },
		"ShortPathFails":      func(p *Proof) { p.Hashes = p.Hashes[1:] },
		"OtherTreeSizeFails":  func(p *Proof) { p.TreeSize-- },
		"ForeignLeafFails":    func(p *Proof) { p.Canonical = bodies[5] },
		"LeafPastTreeFails":   func(p *Proof) { p.LeafIndex = p.TreeSize },
		"UnsignedTextFails":   func(p *Proof) { p.Checkpoint = Checkpoint{Origin: s.Name(), Size: 37}.Text() },
		"OtherKeySignedFails": func(p *Proof) {
			text, _ := splitNote(ck)
			c, _ := ParseCheckpoint(text)
			msg, _ := SignCheckpoint(Checkpoint{Origin: other.Name(), Size: c.Size, Root: c.Root}, other)
			p.Checkpoint = string(msg)
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := makeProof(t, all, bodies, ck, 17)
			p.Hashes = slices.Clone(p.Hashes)
			tamper(p)
			if _, err := VerifyProof(p, s.Verifier()); !errors.Is(err, ErrProof) {
				t.Fatalf("VerifyProof = %v, want ErrProof", err)
			}
		})
	}
}
