package casefile

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestWorkflowTableInREADME checks that README.md shows the moves the code
// allows: the table is rendered from Moves.
func TestWorkflowTableInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("| from | to | takes | what it records |\n|---|---|---|---|\n")
	for _, m := range Moves {
		takes := PermTransition
		if m.Perm != PermTransition {
			takes += " and " + m.Perm
		}
		if m.Reason {
			takes += ", a reason"
		}
		if m.To == ClosureRequested {
			takes += ", a closure reason"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.From, m.To, takes, m.Meaning)
	}
	if !strings.Contains(string(readme), b.String()) {
		t.Errorf("README.md does not show the workflow the code allows; it should read:\n%s", b.String())
	}
}
