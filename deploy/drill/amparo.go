package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// server is `amparo serve` run as a child process.
type server struct {
	url string
	*child
}

// startAmparo runs `amparo serve` with env on a free port, its log in
// logPath, and returns once /readyz answers 200.
func startAmparo(ctx context.Context, bin string, env map[string]string, logPath string) (*server, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "AMPARO_LISTEN=127.0.0.1:0", "AMPARO_LOG_LEVEL=info")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// Its stderr is read line by line (for the address), and copied to
	// the log; once it has exited and the lines are read, the log closes.
	stderr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = log, pw
	lines := make(chan struct{})
	c, err := startChild(cmd, closerFunc(func() error { pw.Close(); <-lines; return log.Close() }))
	if err != nil {
		return nil, err
	}
	s := &server{child: c}
	addr := make(chan string, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				select {
				case addr <- line.Addr:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.exited:
		return nil, fmt.Errorf("amparo serve exited at start; see %s", logPath)
	case <-time.After(2 * time.Minute):
		s.kill()
		return nil, fmt.Errorf("amparo serve did not report its address; see %s", logPath)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		res, err := http.Get(s.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("amparo serve not ready after a minute; see %s", logPath)
		}
		select {
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// graphql posts an operation (or, with file, a multipart upload of file as
// variables.file) as the holder of token and decodes data into v.
func graphql(ctx context.Context, url, token, query string, vars map[string]any, file []byte, v any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	contentType := "application/json"
	if file != nil {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("operations", string(body))
		_ = mw.WriteField("map", `{"0":["variables.file"]}`)
		fw, _ := mw.CreateFormFile("0", "acta.pdf")
		_, _ = fw.Write(file)
		_ = mw.Close()
		body, contentType = buf.Bytes(), mw.FormDataContentType()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var r struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("answer %d is not JSON: %.200s", res.StatusCode, raw)
	}
	if len(r.Errors) > 0 {
		return &apiError{Code: r.Errors[0].Extensions.Code, Message: r.Errors[0].Message}
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(r.Data, v)
}

// apiError is the first error of a GraphQL answer.
type apiError struct{ Code, Message string }

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// evidence is an upload the server acknowledged.
type evidence struct {
	ID, CaseID, SHA256 string
}

const uploadMutation = `mutation($caseId: ID!, $file: Upload!) {
  uploadEvidence(input: { caseId: $caseId, file: $file, description: "acta de entrevista" }) { evidence { id sha256 } } }`

// upload sends a 64 KiB PDF-looking file as evidence of caseID.
func upload(ctx context.Context, url, token, caseID string) (evidence, error) {
	b := make([]byte, 64<<10)
	_, _ = rand.Read(b)
	copy(b, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	copy(b[len(b)-7:], "\n%%EOF\n")
	var out struct {
		UploadEvidence struct{ Evidence struct{ ID, SHA256 string } }
	}
	if err := graphql(ctx, url, token, uploadMutation, map[string]any{"caseId": caseID, "file": nil}, b, &out); err != nil {
		return evidence{}, err
	}
	sum := sha256.Sum256(b)
	if out.UploadEvidence.Evidence.SHA256 != hex.EncodeToString(sum[:]) {
		return evidence{}, errors.New("the server's SHA-256 differs from the file's")
	}
	return evidence{ID: out.UploadEvidence.Evidence.ID, CaseID: caseID, SHA256: out.UploadEvidence.Evidence.SHA256}, nil
}

// servedCases pages through every case token may list and returns their ids.
func servedCases(ctx context.Context, url, token string) (map[string]bool, error) {
	const q = `query($after: String) { cases(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`
	ids := map[string]bool{}
	var after any
	for {
		var out struct {
			Cases struct {
				Edges    []struct{ Node struct{ ID string } }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		if err := graphql(ctx, url, token, q, map[string]any{"after": after}, nil, &out); err != nil {
			return nil, err
		}
		for _, e := range out.Cases.Edges {
			ids[e.Node.ID] = true
		}
		if !out.Cases.PageInfo.HasNextPage {
			return ids, nil
		}
		after = out.Cases.PageInfo.EndCursor
	}
}

// servedEvidence returns the SHA-256 of every evidence of caseID that the
// restored Amparo lists, by evidence id (none for a case it does not have).
func servedEvidence(ctx context.Context, url, token, caseID string) (map[string]string, error) {
	var out struct {
		Case *struct {
			Evidence []struct{ ID, SHA256 string }
		}
	}
	err := graphql(ctx, url, token, `query($id: ID!) { case(id: $id) { evidence { id sha256 } } }`, map[string]any{"id": caseID}, nil, &out)
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Code == "NOT_FOUND" {
		return map[string]string{}, nil
	} else if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if out.Case != nil {
		for _, e := range out.Case.Evidence {
			m[e.ID] = e.SHA256
		}
	}
	return m, nil
}
