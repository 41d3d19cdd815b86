package sshagent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// serveKeyring answers agent requests on l from an in-memory keyring, as
// ssh-agent would, until the test ends.
func serveKeyring(t *testing.T, l net.Listener) agent.Agent {
	t.Helper()
	keyring := agent.NewKeyring()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return keyring
}

// useAgent adds a key through the client, finds it listed with its
// comment, and checks a signature made by the agent.
func useAgent(t *testing.T, client agent.ExtendedAgent) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Add(agent.AddedKey{PrivateKey: priv, Comment: "agent-test@example.com"}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := client.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	found := false
	for _, k := range keys {
		found = found || bytes.Equal(k.Marshal(), sshPub.Marshal()) && k.Comment == "agent-test@example.com"
	}
	if !found {
		t.Fatalf("the agent does not list the key it was given: %v", keys)
	}
	data := []byte("session data to sign")
	sig, err := client.Sign(sshPub, data)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := sshPub.Verify(data, sig); err != nil {
		t.Fatalf("the agent's signature does not verify: %v", err)
	}
}

func TestDialThroughSSHAuthSock(t *testing.T) {
	addr, l := listen(t)
	serveKeyring(t, l)
	client, closer, err := Dial(env(map[string]string{"SSH_AUTH_SOCK": addr}))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	useAgent(t, client)
}

func TestNoAgentWhereSSHAuthSockPoints(t *testing.T) {
	addr := missingAddr(t)
	_, _, err := Dial(env(map[string]string{"SSH_AUTH_SOCK": addr}))
	var de *DialError
	if !errors.Is(err, ErrNoAgent) || !errors.As(err, &de) || de.Addr != addr {
		t.Fatalf("Dial(%q) = %v, want a DialError for that address and ErrNoAgent", addr, err)
	}
}

// An agent that accepts but never answers must not hang the caller.
func TestHungAgentTimesOut(t *testing.T) {
	addr, l := listen(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	t.Cleanup(func() { l.Close() })
	client, closer, err := DialTimeout(env(map[string]string{"SSH_AUTH_SOCK": addr}), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	start := time.Now()
	done := make(chan error, 1)
	go func() { _, err := client.List(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("List from a silent agent succeeded")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("List took %v with a 300ms timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("List from a silent agent hangs")
	}
}
