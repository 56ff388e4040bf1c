package audit

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// memHashes is tlog's reference storage: every stored hash, by index.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// The frontier must store and root exactly as tlog does with every hash at
// hand, for every tree size across several levels.
func TestAuditFrontierMatchesTlog(t *testing.T) {
	var (
		f   frontier
		all memHashes
	)
	for n := int64(0); n < 700; n++ {
		data := fmt.Appendf(nil, "leaf %d", n)
		want, err := tlog.StoredHashes(n, data, all)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.add(tlog.RecordHash(data))
		if err != nil {
			t.Fatalf("add leaf %d: %v", n, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("leaf %d: stored hashes %v, tlog %v", n, got, want)
		}
		all = append(all, want...)
		wantRoot, err := tlog.TreeHash(n+1, all)
		if err != nil {
			t.Fatal(err)
		}
		gotRoot, err := f.root()
		if err != nil {
			t.Fatalf("root of %d: %v", n+1, err)
		}
		if gotRoot != wantRoot {
			t.Fatalf("root of %d leaves: %v, tlog %v", n+1, gotRoot, wantRoot)
		}
	}
}

// A frontier refuses to make up a hash it does not hold, rather than
// returning a wrong one.
func TestAuditFrontierRefusesOtherHashes(t *testing.T) {
	var f frontier
	for n := 0; n < 5; n++ {
		if _, err := f.add(tlog.RecordHash([]byte{byte(n)})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.ReadHashes([]int64{tlog.StoredHashIndex(0, 0)}); err == nil {
		t.Fatal("ReadHashes of a hash off the frontier succeeded")
	}
}
