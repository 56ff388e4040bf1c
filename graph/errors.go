package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"amparo/internal/apperr"
	"amparo/internal/request"
)

// presenter maps every error to the one documented set of codes, in the
// request's language. Causes never reach the client: INTERNAL and
// UNAVAILABLE errors are logged with the request id, which the client also
// receives to report.
func presenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if !errors.As(err, &gqlErr) {
			gqlErr = gqlerror.WrapPath(graphql.GetPath(ctx), err)
		}
		meta := request.From(ctx)
		ae, ok := apperr.As(err)
		if !ok {
			// gqlgen's own errors: a malformed or invalid operation is the
			// client's to fix; anything else is ours.
			if _, coded := gqlErr.Extensions["code"]; coded || len(gqlErr.Path) == 0 {
				ae = &apperr.Error{Kind: apperr.Invalid, Msg: apperr.Text{ES: gqlErr.Message, EN: gqlErr.Message}}
			} else {
				ae = &apperr.Error{Kind: apperr.Internal, Err: err}
			}
		}
		if ae.Kind == apperr.Internal || ae.Kind == apperr.Unavailable {
			log.ErrorContext(ctx, "request failed", "request_id", meta.ID, "code", ae.Kind.Code(),
				"path", gqlErr.Path.String(), "err", err)
		}
		out := &gqlerror.Error{
			Message:    ae.Message(meta.Lang),
			Path:       gqlErr.Path,
			Locations:  gqlErr.Locations,
			Extensions: map[string]any{"code": ae.Kind.Code(), "requestId": meta.ID},
		}
		if ae.Kind == apperr.Invalid {
			field := ae.Field
			if field == "" {
				field = inputPath(gqlErr.Path)
			}
			if field != "" {
				out.Extensions["field"] = field
			}
		}
		return out
	}
}

// inputPath renders the argument path gqlgen attaches to an input coercion
// error (["case", "id"] becomes "id"; ["fileCase", "input", "child",
// "dateOfBirth"] becomes "child.dateOfBirth", like the domain's own paths).
func inputPath(p ast.Path) string {
	if len(p) < 2 {
		return ""
	}
	p = p[1:]
	if name, ok := p[0].(ast.PathName); ok && name == "input" && len(p) > 1 {
		p = p[1:]
	}
	var b strings.Builder
	for i, el := range p {
		switch el := el.(type) {
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(el))
		case ast.PathName:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(el))
		}
	}
	return b.String()
}

// splitInvalid is field middleware: a validation error naming several
// fields becomes one GraphQL error per field, each with its path inside the
// input ("child.dateOfBirth"), so that a form can mark every wrong field at
// once.
func splitInvalid(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err == nil { // nearly every field: nothing to split
		return res, nil
	}
	problems := apperr.Problems(err)
	if len(problems) < 2 {
		return res, err
	}
	list := make(gqlerror.List, 0, len(problems))
	for _, p := range problems {
		list = append(list, &gqlerror.Error{Err: p, Path: graphql.GetPath(ctx)})
	}
	return res, list
}
