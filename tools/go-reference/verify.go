package main

import (
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// verifyInput is what `go-reference verify` reads: PEM produced by another
// engine, to be checked with Go's own crypto libraries.
type verifyInput struct {
	Key     string `json:"key"`  // a private key alone (genPrivateKey)
	Cert    string `json:"cert"` // a certificate, with its key in CertKey
	CertKey string `json:"certKey"`
	Roots   string `json:"roots"` // CA certificates the cert must chain to
	DNS     string `json:"dns"`   // a name the cert must be valid for
	Usage   string `json:"usage"` // "client" or "server" extended key usage
}

// verifyOutput reports what Go found.
type verifyOutput struct {
	KeyType string `json:"keyType,omitempty"`
	KeyBits int    `json:"keyBits,omitempty"`
	IsCA    bool   `json:"isCA"`
	Subject string `json:"subject,omitempty"`
	Chained bool   `json:"chained"`
}

// verify parses a key and/or certificate with Go's libraries: the key type
// and size, that the certificate's key is CertKey (tls.X509KeyPair), and
// that it chains to Roots for DNS and Usage (x509.Certificate.Verify).
func verify() {
	var in verifyInput
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fatal("bad input: " + err.Error())
	}
	var out verifyOutput
	var err error
	if in.Key != "" {
		out.KeyType, out.KeyBits, err = describeKey(in.Key)
		if err != nil {
			fatal("key: " + err.Error())
		}
	}
	if in.Cert != "" {
		if err := checkCert(in, &out); err != nil {
			fatal("cert: " + err.Error())
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fatal(err.Error())
	}
}

// describeKey parses one PEM private key as Go reads each block type.
func describeKey(text string) (string, int, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return "", 0, errors.New("no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return "", 0, err
		}
		return "rsa", k.N.BitLen(), k.Validate()
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return "", 0, err
		}
		return "ecdsa", k.Curve.Params().BitSize, nil
	case "DSA PRIVATE KEY":
		var k struct {
			Version       int
			P, Q, G, Y, X *big.Int
		}
		if _, err := asn1.Unmarshal(block.Bytes, &k); err != nil {
			return "", 0, err
		}
		priv := dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: k.P, Q: k.Q, G: k.G}, Y: k.Y}, X: k.X}
		if new(big.Int).Exp(k.G, k.X, k.P).Cmp(k.Y) != 0 {
			return "", 0, errors.New("dsa: y != g^x mod p")
		}
		return "dsa", priv.P.BitLen(), nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return "", 0, err
		}
		switch k := k.(type) {
		case ed25519.PrivateKey:
			return "ed25519", len(k.Public().(ed25519.PublicKey)) * 8, nil
		case *rsa.PrivateKey:
			return "rsa", k.N.BitLen(), nil
		case *ecdsa.PrivateKey:
			return "ecdsa", k.Curve.Params().BitSize, nil
		}
	}
	return "", 0, fmt.Errorf("unexpected PEM block %q", block.Type)
}

// checkCert fills out from the certificate and verifies it.
func checkCert(in verifyInput, out *verifyOutput) error {
	pair, err := tls.X509KeyPair([]byte(in.Cert), []byte(in.CertKey))
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return err
	}
	out.IsCA, out.Subject = cert.IsCA, cert.Subject.String()
	if in.Roots == "" {
		return nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(in.Roots)) {
		return errors.New("no roots")
	}
	usage := x509.ExtKeyUsageServerAuth
	if in.Usage == "client" {
		usage = x509.ExtKeyUsageClientAuth
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: in.DNS, CurrentTime: time.Now(), KeyUsages: []x509.ExtKeyUsage{usage}}
	if net.ParseIP(in.DNS) != nil {
		opts.DNSName = in.DNS // Verify accepts IPs here too
	}
	if _, err := cert.Verify(opts); err != nil {
		return err
	}
	out.Chained = true
	return nil
}
