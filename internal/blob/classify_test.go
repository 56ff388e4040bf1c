package blob

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"amparo/internal/apperr"
)

// A storage server stopped under an upload fails it in several shapes;
// each must reach the caller as UNAVAILABLE (try again), never INTERNAL.
func TestClassifyServerGoneAway(t *testing.T) {
	for name, err := range map[string]error{
		"refused":        &url.Error{Op: "Put", URL: "http://s", Err: syscall.ECONNREFUSED},
		"reset":          fmt.Errorf("part 3: %w", syscall.ECONNRESET),
		"broken pipe":    fmt.Errorf("write: %w", syscall.EPIPE),
		"cut short":      fmt.Errorf("read response: %w", io.ErrUnexpectedEOF),
		"closed by host": errors.New("Connection closed by foreign host http://s. Retry again."),
		"503":            minio.ErrorResponse{StatusCode: http.StatusServiceUnavailable, Code: "SlowDown"},
		"500 shutting":   minio.ErrorResponse{StatusCode: http.StatusInternalServerError, Code: "InternalError"},
	} {
		if got := classify("op", err); !apperr.Is(got, apperr.Unavailable) {
			t.Errorf("%s: %v is not UNAVAILABLE", name, got)
		}
	}
	for name, c := range map[string]struct {
		err  error
		kind apperr.Kind
	}{
		"no such key":   {minio.ErrorResponse{StatusCode: 404, Code: "NoSuchKey"}, apperr.NotFound},
		"access denied": {minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied"}, apperr.Internal},
		"limit passes":  {apperr.New(apperr.TooLarge, "grande", "too large"), apperr.TooLarge},
	} {
		if got := classify("op", c.err); !apperr.Is(got, c.kind) {
			t.Errorf("%s: %v, want %s", name, got, c.kind)
		}
	}
}
