//go:build unix

package main

import (
	"fmt"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func TestAdvertisedRefs(t *testing.T) {
	pkt := func(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
	id := "1111111111111111111111111111111111111111"
	adv := pkt(id+" HEAD\x00multi_ack\n") + pkt(id+" refs/heads/main\n") + pkt(id+" refs/tags/v1\n") + pkt(id+" refs/tags/v1^{}\n") + "0000"
	for _, c := range []struct {
		in   string
		want int
	}{
		{adv, 3},
		{"0000", 0},
		{adv[:len(adv)-4], -1}, // no flush
		{"zzzz", -1},
		{"0003", -1},
		{"00ff" + id, -1}, // longer than the input
	} {
		if got := advertisedRefs([]byte(c.in)); got != c.want {
			t.Errorf("advertisedRefs(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// The benchmark runs end to end (one round, two repositories) against
// both servers and every check in it passes.
func TestBenchmarkRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds git-bbkey and starts servers")
	}
	for _, server := range []string{"sandbox", "sshd"} {
		t.Run(server, func(t *testing.T) {
			testutil.RequireTool(t, "git")
			testutil.RequireTool(t, "ssh")
			testutil.RequireTool(t, "ssh-keygen")
			if server == "sshd" {
				testutil.RequireTool(t, "sshd")
			}
			if status := run([]string{"-server", server, "-n", "1", "-repos", "2"}); status != 0 {
				t.Fatalf("benchverify -server %s exited %d", server, status)
			}
		})
	}
}
