package graph

import (
	"fmt"
	"testing"
)

func TestLimiter(t *testing.T) {
	t.Run("ErrOverPerClientBurst", func(t *testing.T) {
		l := NewLimiter(1, 3, 1000)
		for i := range 3 {
			if !l.allow("10.0.0.1") {
				t.Fatalf("query %d refused", i)
			}
		}
		if l.allow("10.0.0.1") {
			t.Fatal("fourth query admitted")
		}
		if !l.allow("10.0.0.2") {
			t.Fatal("another address refused")
		}
	})
	t.Run("ErrOverGlobalRate", func(t *testing.T) {
		l := NewLimiter(60, 10, 5)
		admitted := 0
		for i := range 50 {
			if l.allow(fmt.Sprintf("10.0.1.%d", i)) {
				admitted++
			}
		}
		if admitted != 5 {
			t.Fatalf("%d of 50 addresses admitted at once, want the global burst of 5", admitted)
		}
	})
	t.Run("RefusedClientSparesGlobal", func(t *testing.T) {
		l := NewLimiter(1, 1, 2)
		l.allow("10.0.2.1")
		for range 10 {
			l.allow("10.0.2.1") // refused by its own bucket
		}
		if !l.allow("10.0.2.2") {
			t.Fatal("one client's refused queries used up the global rate")
		}
	})
}
