package graph

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"amparo/internal/apperr"
	"amparo/internal/request"
)

// readBuffer is how much of an upload's body is read from the socket at a
// time.
const readBuffer = 256 << 10

// streamingMultipart implements the GraphQL multipart request spec without
// buffering: gqlgen's own MultipartForm copies every file to memory or a
// temporary file before the resolver runs, which for a 200 MB video on a
// 2-core server means a second full copy on disk and no back-pressure. Here
// the operation runs while the file part is still arriving, and the resolver
// reads it straight from the request body.
//
// One file per request: a second file part could only be read after the
// first, which the resolver has already consumed, so it is refused.
type streamingMultipart struct {
	maxBody int64         // whole request; the evidence service enforces the file limit
	slots   chan struct{} // concurrent uploads
	wait    time.Duration // how long an upload may queue for a slot
}

var _ graphql.Transport = (*streamingMultipart)(nil)

func (t *streamingMultipart) Supports(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && r.Method == http.MethodPost && mt == "multipart/form-data" && r.Header.Get("Upgrade") == ""
}

func (t *streamingMultipart) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	start := graphql.Now()
	lang := request.From(r.Context()).Lang
	fail := func(status int, err *apperr.Error) {
		w.WriteHeader(status)
		writeResponse(w, &graphql.Response{Errors: gqlerror.List{{
			Message:    err.Message(lang),
			Extensions: map[string]any{"code": err.Kind.Code(), "requestId": request.From(r.Context()).ID},
		}}})
	}
	if r.ContentLength > t.maxBody {
		fail(http.StatusRequestEntityTooLarge, apperr.E(apperr.TooLarge))
		return
	}
	select {
	case t.slots <- struct{}{}:
		defer func() { <-t.slots }()
	case <-time.After(t.wait):
		fail(http.StatusServiceUnavailable, apperr.New(apperr.RateLimited,
			"demasiadas cargas simultáneas; intente en unos minutos", "too many uploads at once; try again in a few minutes"))
		return
	case <-r.Context().Done():
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, t.maxBody)
	defer r.Body.Close()
	bad := func(es, en string) { fail(http.StatusUnprocessableEntity, apperr.New(apperr.Invalid, es, en)) }

	_, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctParams["boundary"] == "" {
		bad("cuerpo multipart no válido", "invalid multipart body")
		return
	}
	// multipart reads through a bufio.Reader of 4 KiB unless given a larger
	// one, and a part never returns more than is buffered: a 1 GiB file
	// would take a quarter of a million reads from the socket.
	mr := multipart.NewReader(bufio.NewReaderSize(r.Body, readBuffer), ctParams["boundary"])
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "operations" {
		bad("la primera parte debe ser 'operations'", "the first part must be 'operations'")
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(io.LimitReader(part, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		bad("'operations' no es JSON válido", "'operations' is not valid JSON")
		return
	}
	part, err = mr.NextPart()
	if err != nil || part.FormName() != "map" {
		bad("la segunda parte debe ser 'map'", "the second part must be 'map'")
		return
	}
	var uploads map[string][]string
	if err := json.NewDecoder(io.LimitReader(part, 64<<10)).Decode(&uploads); err != nil {
		bad("'map' no es JSON válido", "'map' is not valid JSON")
		return
	}
	if len(uploads) > 1 {
		bad("un solo archivo por solicitud", "one file per request")
		return
	}
	if len(uploads) == 1 {
		part, err = mr.NextPart()
		if err != nil {
			bad("falta el archivo anunciado en 'map'", "the file announced in 'map' is missing")
			return
		}
		paths, ok := uploads[part.FormName()]
		if !ok || len(paths) != 1 {
			bad("la parte del archivo no corresponde a 'map'", "the file part does not match 'map'")
			return
		}
		up := graphql.Upload{File: unseekable{fileBody{part}}, Filename: part.FileName(), ContentType: part.Header.Get("Content-Type"), Size: -1}
		if gerr := params.AddUpload(up, part.FormName(), paths[0]); gerr != nil {
			bad("ruta de 'map' no válida", "invalid path in 'map'")
			return
		}
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	rc, gerr := exec.CreateOperationContext(r.Context(), &params)
	if gerr != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(r.Context(), rc), gerr)
		w.WriteHeader(http.StatusUnprocessableEntity)
		writeResponse(w, resp)
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), rc)
	writeResponse(w, responses(ctx))
}

// fileBody names the ways reading a file part can fail in terms the client
// can act on: past the body limit, PAYLOAD_TOO_LARGE; a dropped connection
// or broken multipart framing, BAD_USER_INPUT. The evidence service passes
// these through and stores nothing.
type fileBody struct{ r io.Reader }

func (b fileBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return n, &apperr.Error{Op: "graph.upload", Kind: apperr.TooLarge, Err: err}
	}
	return n, &apperr.Error{Op: "graph.upload", Kind: apperr.Invalid, Field: "file", Err: err,
		Msg: apperr.Text{ES: "la carga del archivo se interrumpió", EN: "the file upload was interrupted"}}
}

// unseekable satisfies graphql.Upload's io.ReadSeeker over a stream that
// can only be read once, front to back.
type unseekable struct{ io.Reader }

func (unseekable) Seek(int64, int) (int64, error) {
	return 0, errors.New("upload stream cannot seek")
}

func writeResponse(w io.Writer, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(&graphql.Response{Errors: gqlerror.List{{Message: "internal error",
			Extensions: map[string]any{"code": apperr.Internal.Code()}}}})
	}
	_, _ = w.Write(b)
}
