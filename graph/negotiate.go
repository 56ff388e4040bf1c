package graph

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// graphQLResponse is the GraphQL-over-HTTP response media type.
const graphQLResponse = "application/graphql-response+json"

// responseType is the media type of the answer, after the request's Accept
// header (GraphQL over HTTP): application/graphql-response+json when the
// client prefers it, else application/json, also when it says nothing.
func responseType(r *http.Request) string {
	best, bestQ := "application/json", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		if q <= 0 || q <= bestQ {
			continue
		}
		switch mt {
		case graphQLResponse:
			best, bestQ = graphQLResponse, q
		case "application/json", "application/*", "*/*":
			best, bestQ = "application/json", q
		}
	}
	return best
}

// requestErrorStatus is the status of a GraphQL request error (a document
// that does not parse, validate or pass the screen): 200 under
// application/json, as the spec asks of it (legacy clients read the body,
// not the status), status (4xx) under application/graphql-response+json.
func requestErrorStatus(r *http.Request, status int) int {
	if responseType(r) == "application/json" {
		return http.StatusOK
	}
	return status
}

// writeErrors answers with errors alone: a request error's response has no
// data entry at all (not even null), which is how clients tell it from a
// field error.
func writeErrors(w http.ResponseWriter, status int, errs gqlerror.List) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors gqlerror.List `json:"errors"`
	}{errs})
}
