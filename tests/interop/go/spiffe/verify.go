// verify.go -- Go's crypto/x509 verdicts on the SPIFFE test PKI (tests/pki/make-spiffe-pki.sh),
// for tests/interop/spiffe.test.sh to compare with mtls's.
//
//	verify DIR
//
// For each line "<case> <anchor> ..." of DIR/spiffe-cases.txt: the anchor DIR/<anchor>.crt is the
// only root, the other certificates of DIR/<case>.crt are intermediates, and the first one is
// verified with x509.Certificate.Verify at the current time for any extended key usage (no DNS
// name: the host name is not what is compared).  Prints "<case> OK" or "<case> FAIL <error>",
// one line per case.  A certificate Go cannot parse is a FAIL too.  Standard library only.
package main

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func certs(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %v", filepath.Base(path), err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate in %s", filepath.Base(path))
	}
	return out, nil
}

func verdict(dir, name, anchor string) error {
	roots, err := certs(filepath.Join(dir, anchor+".crt"))
	if err != nil {
		return err
	}
	chain, err := certs(filepath.Join(dir, name+".crt"))
	if err != nil {
		return err
	}
	opts := x509.VerifyOptions{
		Roots:         x509.NewCertPool(),
		Intermediates: x509.NewCertPool(),
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	for _, r := range roots {
		opts.Roots.AddCert(r)
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err = chain[0].Verify(opts)
	return err
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verify DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	f, err := os.Open(filepath.Join(dir, "spiffe-cases.txt"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		if err := verdict(dir, fields[0], fields[1]); err != nil {
			fmt.Printf("%s FAIL %s\n", fields[0], strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Printf("%s OK\n", fields[0])
		}
	}
}
