package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"amparo/internal/apperr"
	"amparo/internal/request"
)

// maxJSONBody bounds an operation sent as JSON: the largest legitimate one
// (a case with thirty violations and long texts) is a few tens of KiB.
const maxJSONBody = 1 << 20

// jsonPost is the application/json transport. It replaces gqlgen's POST,
// which reads a body of any size at any speed, echoes an undecodable body
// back in its message and answers without a code: here the body is capped
// (PAYLOAD_TOO_LARGE, 413) and must arrive within bodyTimeout, a batch is
// refused without repeating it, and every operation passes the screen
// before gqlgen parses it.
type jsonPost struct {
	screen      *screen
	bodyTimeout time.Duration
	minRate     int64 // bytes a second: a declared length earns time at this rate
}

// maxBodyTime is the longest any JSON body may take, whatever its length.
const maxBodyTime = 2 * time.Minute

var _ graphql.Transport = jsonPost{}

func (jsonPost) Supports(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && r.Method == http.MethodPost && mt == "application/json" && r.Header.Get("Upgrade") == ""
}

func (t jsonPost) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", responseType(r))
	start := graphql.Now()
	rc := http.NewResponseController(w)
	if t.bodyTimeout > 0 {
		// A body of declared length gets the time a slow border link needs
		// for it, at the minimum upload rate, on top of the base timeout.
		d := t.bodyTimeout
		if r.ContentLength > 0 && t.minRate > 0 {
			d += time.Duration(r.ContentLength/t.minRate) * time.Second
		}
		_ = rc.SetReadDeadline(time.Now().Add(min(d, maxBodyTime)))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	_ = rc.SetReadDeadline(time.Time{})
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		fail(w, r, apperr.New(apperr.TooLarge, "la operación excede 1 MiB", "the operation exceeds 1 MiB"))
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		fail(w, r, apperr.New(apperr.Invalid, "el cuerpo de la solicitud llegó demasiado lento",
			"the request body arrived too slowly"))
		return
	case err != nil:
		fail(w, r, apperr.New(apperr.Invalid, "no se pudo leer el cuerpo de la solicitud", "could not read the request body"))
		return
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '[' {
		fail(w, r, apperr.New(apperr.Invalid, "no se admiten lotes de operaciones; envíe una por solicitud",
			"batched operations are not supported; send one per request"))
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		fail(w, r, apperr.New(apperr.Invalid, "el cuerpo no es una solicitud GraphQL en JSON válida",
			"the body is not a valid GraphQL request in JSON"))
		return
	}
	run(w, r, exec, t.screen, &params, start)
}

// run screens and executes one operation, for both transports.
func run(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, s *screen, params *graphql.RawParams, start time.Time) {
	if err := s.check(r.Context(), params); err != nil {
		if err.Kind == apperr.Invalid {
			failStatus(w, r, requestErrorStatus(r, http.StatusBadRequest), err)
			return
		}
		fail(w, r, err)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	oc, gerr := exec.CreateOperationContext(r.Context(), params)
	if gerr != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(r.Context(), oc), gerr)
		writeErrors(w, requestErrorStatus(r, http.StatusUnprocessableEntity), resp.Errors)
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), oc)
	writeResponse(w, responses(ctx))
}

// writeResponse writes one operation's answer. gqlgen's data is written
// as gqlgen marshalled it: json.Marshal of the response would scan the
// whole of it twice more (validating and compacting a RawMessage), about
// a twentieth of a page's CPU, for JSON that gqlgen's marshallers already
// wrote whole. Label, path and hasNext belong to @defer, refused before
// execution (noDefer).
func writeResponse(w io.Writer, resp *graphql.Response) {
	var b bytes.Buffer
	b.Grow(len(resp.Data) + 64)
	b.WriteByte('{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			errs, _ = json.Marshal(gqlerror.List{{Message: "internal error",
				Extensions: map[string]any{"code": apperr.Internal.Code()}}})
		}
		b.WriteString(`"errors":`)
		b.Write(errs)
		b.WriteByte(',')
	}
	b.WriteString(`"data":`)
	if len(resp.Data) == 0 {
		b.WriteString("null")
	} else {
		b.Write(resp.Data)
	}
	if len(resp.Extensions) > 0 {
		if ext, err := json.Marshal(resp.Extensions); err == nil {
			b.WriteString(`,"extensions":`)
			b.Write(ext)
		}
	}
	b.WriteByte('}')
	_, _ = w.Write(b.Bytes())
}

// unsupported answers what no other transport takes: another content type
// (UNSUPPORTED_MEDIA_TYPE, 415) or another method, in the shape and with
// the codes of every other answer. gqlgen's own answer is "transport not
// supported", without a code.
type unsupported struct{}

func (unsupported) Supports(*http.Request) bool { return true }

func (unsupported) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		failStatus(w, r, http.StatusMethodNotAllowed, apperr.New(apperr.Invalid,
			"use POST para las operaciones GraphQL", "use POST for GraphQL operations"))
		return
	}
	fail(w, r, apperr.New(apperr.UnsupportedMedia,
		"use Content-Type application/json, o multipart/form-data para cargar archivos",
		"use Content-Type application/json, or multipart/form-data for uploads"))
}

// statuses are the HTTP statuses of errors refused before execution.
var statuses = map[apperr.Kind]int{
	apperr.Unauthenticated:  http.StatusUnauthorized,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.RateLimited:      http.StatusTooManyRequests,
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unavailable:      http.StatusServiceUnavailable,
}

// fail answers with err alone, before or instead of execution.
func fail(w http.ResponseWriter, r *http.Request, err *apperr.Error) {
	status, ok := statuses[err.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	failStatus(w, r, status, err)
}

func failStatus(w http.ResponseWriter, r *http.Request, status int, err *apperr.Error) {
	meta := request.From(r.Context())
	if err.Kind == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="amparo"`)
	}
	ext := map[string]any{"code": err.Kind.Code(), "requestId": meta.ID}
	if err.Field != "" {
		ext["field"] = err.Field
	}
	writeErrors(w, status, gqlerror.List{{Message: err.Message(meta.Lang), Extensions: ext}})
}
