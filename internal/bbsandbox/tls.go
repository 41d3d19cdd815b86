package bbsandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// certAuthority is a throw-away CA that signs the sandbox's certificates.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// validity sets tmpl's validity: from an hour ago (a clock a little
// behind) for a week.
func validity(tmpl *x509.Certificate) *x509.Certificate {
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(7*24*time.Hour)
	return tmpl
}

// newCA makes a CA named subject that signs leaves only (no sub-CAs).
func newCA(serial int64, subject pkix.Name, usage x509.KeyUsage) (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := validity(&x509.Certificate{SerialNumber: big.NewInt(serial), Subject: subject, KeyUsage: usage,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true})
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("bbsandbox: create %s: %w", subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certAuthority{cert: cert, key: key, der: der}, nil
}

// issue signs a certificate for a new key with the CA (tmpl's validity is
// set here); what names it in errors.
func (ca *certAuthority) issue(what string, tmpl *x509.Certificate) (der []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err = x509.CreateCertificate(rand.Reader, validity(tmpl), ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("bbsandbox: create %s: %w", what, err)
	}
	return der, key, nil
}

// newTLS makes a throw-away CA and a server certificate for 127.0.0.1,
// ::1 and localhost signed by it. It returns the CA as PEM (what a client
// must trust, e.g. through http.sslCAInfo) and the server's TLS config.
func newTLS() ([]byte, *tls.Config, error) {
	ca, err := newCA(1, pkix.Name{CommonName: "Bitbucket sandbox CA", Organization: []string{"git-bbkey bbsandbox"}},
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign)
	if err != nil {
		return nil, nil, err
	}
	leafDER, leafKey, err := ca.issue("server certificate", &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	})
	if err != nil {
		return nil, nil, err
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}), conf, nil
}

func tlsListener(ln net.Listener, conf *tls.Config) net.Listener {
	return tls.NewListener(ln, conf)
}
