package bbsandbox

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
)

// requireClientCerts makes conf ask every client for a certificate signed
// by a throw-away client CA, and returns one such certificate and its key
// as PEM (what a client passes as http.sslCert and http.sslKey).
func requireClientCerts(conf *tls.Config) (certPEM, keyPEM []byte, err error) {
	ca, err := newCA(10, pkix.Name{CommonName: "Bitbucket sandbox client CA"}, x509.KeyUsageCertSign)
	if err != nil {
		return nil, nil, err
	}
	der, key, err := ca.issue("client certificate", &x509.Certificate{
		SerialNumber: big.NewInt(11), Subject: pkix.Name{CommonName: "sandbox client"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	conf.ClientCAs = x509.NewCertPool()
	conf.ClientCAs.AddCert(ca.cert)
	conf.ClientAuth = tls.RequireAndVerifyClientCert
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// ClientCertPEM is a client certificate and its key (PEM) that the HTTPS
// server accepts when Config.RequireClientCert is set (nil otherwise).
func (s *Server) ClientCertPEM() (cert, key []byte) { return s.clientCert, s.clientKey }
