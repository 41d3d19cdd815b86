package sshagent

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"

	"golang.org/x/crypto/ssh/agent"
)

// pipeAgent is a Dialer to an in-memory agent holding one key; dials
// counts its calls and closed tells whether the connection was closed.
func pipeAgent(t *testing.T, dials *int, closed *bool) Dialer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	return func() (agent.ExtendedAgent, io.Closer, error) {
		*dials++
		client, server := net.Pipe()
		go agent.ServeAgent(keyring, server)
		return agent.NewClient(client), closerFunc(func() error { *closed = true; return client.Close() }), nil
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestLazyConnectsOnceWhenFirstNeeded(t *testing.T) {
	dials, closed := 0, false
	l := NewLazy(pipeAgent(t, &dials, &closed))
	if dials != 0 {
		t.Fatal("NewLazy connected before anything needed the agent")
	}
	for range 3 {
		signers, err := l.Signers()
		if err != nil || len(signers) != 1 {
			t.Fatalf("Signers = %d, %v; want the agent's one key", len(signers), err)
		}
	}
	if dials != 1 {
		t.Errorf("connected %d times, want once", dials)
	}
	l.Close()
	if !closed {
		t.Error("Close left the connection open")
	}
}

func TestLazyWithoutAgent(t *testing.T) {
	for name, dial := range map[string]Dialer{
		"no dialer": nil,
		"nothing listens": func() (agent.ExtendedAgent, io.Closer, error) {
			return nil, nil, &DialError{Addr: "/nowhere", NoAgent: true, Err: errors.New("connection refused")}
		},
	} {
		l := NewLazy(dial)
		if signers, err := l.Signers(); signers != nil || err != nil {
			t.Errorf("%s: Signers = %v, %v; want none and no error", name, signers, err)
		}
		if _, err := l.Get(); !errors.Is(err, ErrNoAgent) {
			t.Errorf("%s: Get = %v, want ErrNoAgent", name, err)
		}
		l.Close() // nothing to close
	}
}
