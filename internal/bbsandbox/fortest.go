package bbsandbox

import (
	"context"
	"testing"
	"time"
)

// StartTest starts a sandbox for t: in a data directory of the test's
// when cfg names none, within a minute, closed when the test ends.
func StartTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
