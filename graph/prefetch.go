package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"amparo/graph/loader"
	"amparo/internal/casefile"
)

// prefetchCases loads, in one batch each, the per-case fields a connection
// query selects under edges.node, before their resolvers run. Loaders alone
// batch what arrives within their wait window, and on a page of 100 the
// field resolvers do not all arrive in time; asking up front for the whole
// page makes the number of statements independent of the page size.
//
// Every field beneath a page's node that reads a loader must be here: the
// page's edges are marshalled one after another (graph/sequential), so a
// field left to its loader would wait out the loader's window once per case,
// each in a batch of one (TestCasePageEveryFieldBatched counts them).
func prefetchCases(ctx context.Context, ids []uuid.UUID, fields map[string]bool) {
	l := loader.For(ctx)
	if fields["viewerCan"] {
		_, _ = l.Actions.LoadAll(ctx, ids)
	}
	if fields["child.identity"] {
		// The same reads, each audited, that the page's identity fields
		// would make one by one.
		_, _ = l.Identity.LoadAll(ctx, ids)
	}
	if fields["evidence"] {
		_, _ = l.Evidence.LoadAll(ctx, ids)
	}
	if fields["evidenceCount"] {
		_, _ = l.EvidenceCount.LoadAll(ctx, ids)
	}
	if fields["notes"] {
		_, _ = l.Notes.LoadAll(ctx, ids)
	}
	if fields["noteCount"] {
		_, _ = l.NoteCount.LoadAll(ctx, ids)
	}
	if fields["assignee"] {
		_, _ = l.Assignee.LoadAll(ctx, ids)
	}
	if fields["timeline"] {
		_, _ = l.Timeline.LoadAll(ctx, ids)
	}
}

// caseListOptions are what a page of cases reads, given the fields it
// selects (nodeFields): the data keys and the sealed narratives only when
// the page shows a summary or a violation's description.
func caseListOptions(fields map[string]bool) []casefile.ListOption {
	if fields["summary"] || fields["violations.description"] {
		return nil
	}
	return []casefile.ListOption{casefile.WithoutNarratives()}
}

// nodeFields names the fields selected under edges { node { ... } } of the
// connection field being resolved, fragments included, and those under
// its violations and child as "violations.description", "child.identity".
func nodeFields(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	oc := graphql.GetOperationContext(ctx)
	for _, edges := range graphql.CollectFieldsCtx(ctx, nil) {
		if edges.Name != "edges" {
			continue
		}
		for _, node := range graphql.CollectFields(oc, edges.Selections, nil) {
			if node.Name != "node" {
				continue
			}
			for _, f := range graphql.CollectFields(oc, node.Selections, nil) {
				out[f.Name] = true
				if f.Name == "violations" || f.Name == "child" {
					for _, v := range graphql.CollectFields(oc, f.Selections, nil) {
						out[f.Name+"."+v.Name] = true
					}
				}
			}
		}
	}
	return out
}
