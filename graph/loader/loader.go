// Package loader batches the per-field lookups of one GraphQL request, so
// that a list of N cases costs one query per field rather than N. Loaders
// are built per request: their cache must never outlive the caller whose
// authorization filled it.
package loader

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"amparo/internal/auth"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/evidence"
)

// Loaders are the loaders of one request.
type Loaders struct {
	Evidence *dataloadgen.Loader[uuid.UUID, []*evidence.Evidence]
	Notes    *dataloadgen.Loader[uuid.UUID, []*casefile.Note]
	// Counts, for lists that show how much a case holds without loading it.
	EvidenceCount *dataloadgen.Loader[uuid.UUID, int]
	NoteCount     *dataloadgen.Loader[uuid.UUID, int]
	// Case is a case named by another record (a complaint's linked case):
	// nil when the caller may not read it, with no refusal recorded.
	Case *dataloadgen.Loader[uuid.UUID, *casefile.Case]
	// Assignee and Timeline are per case.
	Assignee *dataloadgen.Loader[uuid.UUID, *auth.Principal]
	Timeline *dataloadgen.Loader[uuid.UUID, []*casefile.TimelineEntry]
	// Identity is the identity of a case's child, each read audited, with
	// a refusal (FORBIDDEN, audited) for each case whose child the caller
	// may not identify.
	Identity *dataloadgen.Loader[uuid.UUID, *child.Identity]
}

// Sources are the services the loaders read from.
type Sources struct {
	Evidence *evidence.Service
	Cases    *casefile.Service
}

// batchCap bounds one batch, and with it the size of one "= ANY($1)" query.
const batchCap = 500

func newLoaders(src Sources) *Loaders {
	opts := []dataloadgen.Option{dataloadgen.WithBatchCapacity(batchCap), dataloadgen.WithWait(time.Millisecond)}
	return &Loaders{
		Evidence: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([][]*evidence.Evidence, []error) {
			m, err := src.Evidence.ListByCases(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		Notes: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([][]*casefile.Note, []error) {
			m, err := src.Cases.NotesByCases(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		EvidenceCount: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]int, []error) {
			m, err := src.Evidence.CountByCases(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		NoteCount: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]int, []error) {
			m, err := src.Cases.NoteCounts(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		Case: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*casefile.Case, []error) {
			m, err := src.Cases.ByIDs(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		Assignee: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*auth.Principal, []error) {
			m, err := src.Cases.Assignees(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		Timeline: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([][]*casefile.TimelineEntry, []error) {
			m, err := src.Cases.Timelines(ctx, ids)
			return fill(ids, m, err)
		}, opts...),
		Identity: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*child.Identity, []error) {
			m, errs, err := src.Cases.Identities(ctx, ids)
			out, all := fill(ids, m, err)
			if err == nil && len(errs) > 0 {
				all = make([]error, len(ids))
				for i, id := range ids {
					all[i] = errs[id]
				}
			}
			return out, all
		}, opts...),
	}
}

// fill lays a map of results out in key order, as dataloadgen wants them.
func fill[K comparable, V any](keys []K, m map[K]V, err error) ([]V, []error) {
	out := make([]V, len(keys))
	if err != nil {
		return out, []error{err}
	}
	for i, k := range keys {
		out[i] = m[k]
	}
	return out, nil
}

type ctxKey struct{}

// Middleware gives each request its own loaders.
func Middleware(src Sources, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), ctxKey{}, newLoaders(src))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// For returns the loaders of the request in ctx.
func For(ctx context.Context) *Loaders {
	return ctx.Value(ctxKey{}).(*Loaders)
}
