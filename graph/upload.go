package graph

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"amparo/internal/apperr"
	"amparo/internal/auth"
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
	screen  *screen
	maxBody int64         // whole request; the evidence service enforces the file limit
	slots   chan struct{} // concurrent uploads
	wait    time.Duration // how long an upload may queue for a slot
	perUser int           // concurrent uploads of one user
	// minRate (bytes a second, measured over each window) is the slowest
	// an upload may arrive: one trickling a byte a second would otherwise
	// hold its slot for as long as the client likes.
	minRate int64
	window  time.Duration

	mu     sync.Mutex
	active map[uuid.UUID]int // uploads in flight, per user
}

var _ graphql.Transport = (*streamingMultipart)(nil)

func (t *streamingMultipart) Supports(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && r.Method == http.MethodPost && mt == "multipart/form-data" && r.Header.Get("Upgrade") == ""
}

// claim counts an upload of user, unless they have perUser in flight.
func (t *streamingMultipart) claim(user uuid.UUID) (release func(), ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active[user] >= t.perUser {
		return nil, false
	}
	t.active[user]++
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.active[user]--; t.active[user] <= 0 {
			delete(t.active, user)
		}
	}, true
}

func (t *streamingMultipart) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	start := graphql.Now()
	// Every upload needs a signed-in user: refuse before reading anything.
	p, signed := auth.From(r.Context())
	if !signed {
		fail(w, r, apperr.E(apperr.Unauthenticated))
		return
	}
	if r.ContentLength > t.maxBody {
		fail(w, r, apperr.E(apperr.TooLarge))
		return
	}
	release, ok := t.claim(p.UserID)
	if !ok {
		fail(w, r, apperr.New(apperr.RateLimited,
			fmt.Sprintf("ya tiene %d cargas en curso; espere a que terminen", t.perUser),
			fmt.Sprintf("you already have %d uploads in progress; wait for them to finish", t.perUser)))
		return
	}
	defer release()
	select {
	case t.slots <- struct{}{}:
		defer func() { <-t.slots }()
	case <-time.After(t.wait):
		fail(w, r, apperr.New(apperr.RateLimited,
			"demasiadas cargas simultáneas; intente en unos minutos", "too many uploads at once; try again in a few minutes"))
		return
	case <-r.Context().Done():
		return
	}
	pace := &paced{r: http.MaxBytesReader(w, r.Body, t.maxBody), rc: http.NewResponseController(w), min: t.minRate, window: t.window}
	defer pace.stop()
	defer r.Body.Close()
	bad := func(es, en string) {
		failStatus(w, r, http.StatusUnprocessableEntity, apperr.New(apperr.Invalid, es, en))
	}

	_, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctParams["boundary"] == "" {
		bad("cuerpo multipart no válido", "invalid multipart body")
		return
	}
	// multipart reads through a bufio.Reader of 4 KiB unless given a larger
	// one, and a part never returns more than is buffered: a 1 GiB file
	// would take a quarter of a million reads from the socket.
	mr := multipart.NewReader(bufio.NewReaderSize(pace, readBuffer), ctParams["boundary"])
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "operations" {
		bad("la primera parte debe ser 'operations'", "the first part must be 'operations'")
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(io.LimitReader(part, maxJSONBody))
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
		up := graphql.Upload{File: unseekable{fileBody{r: part, done: pace.stop}}, Filename: part.FileName(),
			ContentType: part.Header.Get("Content-Type"), Size: -1}
		if gerr := params.AddUpload(up, part.FormName(), paths[0]); gerr != nil {
			bad("ruta de 'map' no válida", "invalid path in 'map'")
			return
		}
	}
	run(w, r, exec, t.screen, &params, start)
}

// paced reads a request body under a rolling read deadline: each window,
// at least minRate bytes a second must arrive, or the connection's read
// fails (os.ErrDeadlineExceeded) and the upload is cut. stop lifts the
// deadline once the file is read, before the server reads on its own.
type paced struct {
	r       io.Reader
	rc      *http.ResponseController
	min     int64
	window  time.Duration
	due     int64 // bytes still owed in this window
	armed   bool
	stopped bool
}

func (p *paced) Read(b []byte) (int, error) {
	if p.min > 0 && !p.stopped && (!p.armed || p.due <= 0) {
		p.due = max(p.min*p.window.Milliseconds()/1000, 1)
		p.armed = p.rc.SetReadDeadline(time.Now().Add(p.window)) == nil
	}
	n, err := p.r.Read(b)
	p.due -= int64(n)
	return n, err
}

func (p *paced) stop() {
	if p.armed && !p.stopped {
		_ = p.rc.SetReadDeadline(time.Time{})
	}
	p.stopped = true
}

// fileBody names the ways reading a file part can fail in terms the client
// can act on: past the body limit, PAYLOAD_TOO_LARGE; a dropped connection
// or broken multipart framing, BAD_USER_INPUT. The evidence service passes
// these through and stores nothing.
type fileBody struct {
	r    io.Reader
	done func() // called when the file ends or fails
}

func (b fileBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == nil {
		return n, nil
	}
	b.done()
	if err == io.EOF {
		return n, err
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return n, &apperr.Error{Op: "graph.upload", Kind: apperr.TooLarge, Err: err}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, &apperr.Error{Op: "graph.upload", Kind: apperr.Invalid, Field: "file", Err: err,
			Msg: apperr.Text{ES: "la carga llegó demasiado lenta y se interrumpió", EN: "the upload arrived too slowly and was cut"}}
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
