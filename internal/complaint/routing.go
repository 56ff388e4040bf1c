package complaint

import (
	"cmp"
	"slices"

	"amparo/internal/reference"
)

// Route names the institutions a complaint goes to under the routing rules
// (reference.RoutingRule, reviewed in migrations/reference/routing_rules.csv),
// each with the ids of the rules that sent it there, in the order of the
// institutions' codes. A rule applies when one of the violations is its
// violation (or of its category, or it says "*"), one of the perpetrator
// types is its perpetrator (or it says "*"), and one of the children's
// situations (care statuses) is its situation (or it says "*"). The
// fallback rules apply only when no other rule does.
func Route(cat *reference.Catalog, violations, perpetrators, situations []string) []route {
	categories := make([]string, 0, len(violations))
	for _, v := range violations {
		if t, ok := cat.ViolationType(v); ok {
			categories = append(categories, "category:"+t.Category)
		}
	}
	matches := func(r *reference.RoutingRule) bool {
		return (r.Violation == "*" || slices.Contains(violations, r.Violation) || slices.Contains(categories, r.Violation)) &&
			(r.Perpetrator == "*" || slices.Contains(perpetrators, r.Perpetrator)) &&
			(r.Situation == "*" || slices.Contains(situations, r.Situation))
	}
	by := map[string][]string{}
	for _, fallback := range []bool{false, true} {
		for i := range cat.RoutingRules {
			r := &cat.RoutingRules[i]
			if r.Fallback == fallback && matches(r) {
				by[r.Institution] = append(by[r.Institution], r.ID)
			}
		}
		if len(by) > 0 {
			break
		}
	}
	out := make([]route, 0, len(by))
	for inst, rules := range by {
		out = append(out, route{Institution: inst, Source: "RULE", Rules: rules})
	}
	slices.SortFunc(out, func(a, b route) int { return cmp.Compare(a.Institution, b.Institution) })
	return out
}
