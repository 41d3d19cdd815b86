package sshagent

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

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

// Close while a Get is still connecting (Main's deferred Close after an
// interrupt, say) waits for that connection and closes it: nothing leaks,
// nothing races (go test -race), and a Get after Close has no agent.
func TestLazyCloseDuringGet(t *testing.T) {
	dialing, proceed := make(chan struct{}), make(chan struct{})
	var closed atomic.Bool
	l := NewLazy(func() (agent.ExtendedAgent, io.Closer, error) {
		close(dialing)
		<-proceed
		client, server := net.Pipe()
		go agent.ServeAgent(agent.NewKeyring(), server)
		return agent.NewClient(client), closerFunc(func() error { closed.Store(true); return client.Close() }), nil
	})
	got := make(chan error, 1)
	go func() {
		_, err := l.Get()
		got <- err
	}()
	<-dialing
	closeDone := make(chan struct{})
	go func() {
		l.Close()
		close(closeDone)
	}()
	time.Sleep(50 * time.Millisecond) // Close is now waiting, or has raced ahead
	close(proceed)
	if err := <-got; err != nil {
		t.Fatalf("Get = %v", err)
	}
	<-closeDone
	if !closed.Load() {
		t.Error("Close returned before the connection being made, which then stayed open")
	}
	if _, err := l.Get(); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if signers, err := l.Signers(); signers != nil || err != nil {
		t.Errorf("Signers after Close = %v, %v; want none", signers, err)
	}

	// Close first: nothing is ever dialled.
	dials := 0
	l = NewLazy(func() (agent.ExtendedAgent, io.Closer, error) { dials++; return nil, nil, errors.New("dialled") })
	l.Close()
	if _, err := l.Get(); !errors.Is(err, ErrClosed) || dials != 0 {
		t.Errorf("Get after an early Close = %v (%d dials)", err, dials)
	}
}
