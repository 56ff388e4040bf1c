package main

import (
	"os"
	"testing"
)

// The committed script's data keys are found, so that forgetReplayedKeys
// deletes them after a replay (the next start of the stack depends on it).
func TestRecordedKEKFound(t *testing.T) {
	text, err := os.ReadFile("filecase.pgbench")
	if err != nil {
		t.Fatal(err)
	}
	m := recordedKEK.FindSubmatch(text)
	if m == nil {
		t.Fatal("no KEK of a data key found in filecase.pgbench: a replay would leave keys no key file opens")
	}
	t.Logf("KEK %s", m[1])
}
