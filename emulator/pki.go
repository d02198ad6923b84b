package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"
)

// servingCA is a certificate authority this emulator holds the key of: the
// CA a self-managed webhook generates, or cert-manager's webhook CA.
type servingCA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
	leaves  map[string]*tls.Certificate // by DNS names
}

// certRequest is what a certificate says about its subject.
type certRequest struct {
	commonName string
	dnsNames   []string
	ips        []net.IP
	uris       []*url.URL
	isCA       bool
	duration   time.Duration
	keyAlg     string // RSA (default), ECDSA, Ed25519
	keySize    int
}

func newKey(alg string, size int) (crypto.Signer, error) {
	switch alg {
	case "", "RSA":
		if size == 0 {
			size = 2048
		}
		return rsa.GenerateKey(rand.Reader, size)
	case "ECDSA":
		curve := elliptic.P256()
		switch size {
		case 384:
			curve = elliptic.P384()
		case 521:
			curve = elliptic.P521()
		}
		return ecdsa.GenerateKey(curve, rand.Reader)
	case "Ed25519":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("unsupported private key algorithm %q", alg)
}

// sign issues a certificate for req, signed by ca (nil: self-signed). It
// returns the certificate and key as PEM.
func sign(req certRequest, ca *servingCA) (certPEM, keyPEM []byte, err error) {
	key, err := newKey(req.keyAlg, req.keySize)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	if req.duration == 0 {
		req.duration = 90 * 24 * time.Hour
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: req.commonName},
		DNSNames:     req.dnsNames, IPAddresses: req.ips, URIs: req.uris,
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(req.duration),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  req.isCA,
	}
	if req.isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage = nil
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// newCA makes a self-signed CA (ECDSA: generated in microseconds).
func newCA(commonName string) (*servingCA, error) {
	certPEM, keyPEM, err := sign(certRequest{commonName: commonName, isCA: true, keyAlg: "ECDSA", duration: 365 * 24 * time.Hour}, nil)
	if err != nil {
		return nil, err
	}
	return parseCA(certPEM, keyPEM)
}

// parseCA reads a CA from PEM (a CA Issuer's or cert-manager's CA Secret).
func parseCA(certPEM, keyPEM []byte) (*servingCA, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("CA key cannot sign")
	}
	return &servingCA{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM, leaves: map[string]*tls.Certificate{}}, nil
}

// serving returns a serving certificate for dnsNames signed by the CA,
// issued once per set of names.
func (ca *servingCA) serving(dnsNames []string) (*tls.Certificate, error) {
	key := fmt.Sprint(dnsNames)
	if leaf, ok := ca.leaves[key]; ok {
		return leaf, nil
	}
	certPEM, keyPEM, err := sign(certRequest{commonName: dnsNames[0], dnsNames: dnsNames, keyAlg: "ECDSA"}, ca)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	ca.leaves[key] = &pair
	return &pair, nil
}

// parseLeaf returns the first certificate of a PEM bundle.
func parseLeaf(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
