// peer.go -- the Go crypto/tls peer of tests/interop/go.test.sh.
//
// Built at test time with `go build` (standard library only, no module, no network) into the
// test's work directory.  TLS 1.2 only by default (MinVersion = MaxVersion = TLS 1.2), exactly
// one cipher suite (-suite, IANA name; the TLS_RSA_* suites are allowed when listed
// explicitly), on 127.0.0.1.  One process per case: Go programs start in milliseconds.
// tests/interop/tls13-runtimes.test.sh uses it for TLS 1.3 as well:
//
//	-version 1.2|1.3|any  TLS 1.2 only (the default), TLS 1.3 only, or Go's default range (1.2
//	                      and 1.3, 1.3 preferred); -suite is then optional (Go has no setting
//	                      for its TLS 1.3 suites)
//	-curves LIST          the key-exchange groups, comma separated (X25519, P256, P384, P521);
//	                      a server limited to P256 answers an X25519 share with
//	                      HelloRetryRequest
//
//	peer server -name NAME -cert CHAIN.pem -key KEY.pem -suite SUITE [-ca CA.pem -require-client-cert]
//	            [-conns N] [-token TOKEN]
//	    Listens on 127.0.0.1, a port picked by the kernel, prints "LISTEN PORT", then serves N
//	    connections one after the other: handshake, echo what arrives until the client's
//	    close_notify, close (which sends ours).  Session tickets are on (Go's default; a Go
//	    server has no session-id cache, so a resumed session is always a ticket).  With
//	    -require-client-cert: tls.RequireAndVerifyClientCert, ClientCAs from -ca.  One line
//	    per connection:
//	      CONN NAME #i ok version=TLS1.2 suite=SUITE resumed=yes|no peer=SUBJECT|none received=N token=ok|none|bad
//	      CONN NAME #i FAIL <error>
//	    (token=ok: the connection carried exactly "TOKEN\n"; none: no data), then "DONE NAME".
//	    Gives up waiting for a connection after -accept-timeout seconds.
//
//	peer client -name NAME -connect 127.0.0.1:PORT -ca CA.pem -suite SUITE [-cert CHAIN.pem -key KEY.pem]
//	            [-servername good.test] [-conns N] [-token TOKEN]
//	    N connections with one tls.Config whose ClientSessionCache is an LRU cache: the 2nd and
//	    later offer the session ticket of the one before (Go clients resume by ticket only).
//	    Verifies the server against -ca (RootCAs) and -servername.  Each connection: handshake,
//	    send "TOKEN\n", expect it echoed, close_notify (CloseWrite), read to the server's
//	    close_notify.  One line per connection:
//	      RESULT NAME #i ok version=TLS1.2 suite=SUITE resumed=yes|no server=SUBJECT client-cert=sent|none
//	      RESULT NAME #i FAIL <error>
//	    Stops at the first failure.
//
// Everything goes to stdout, one line at a time; usage errors to stderr (exit 2).  The exit
// status is 1 when any connection failed.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

var failed bool

func out(format string, a ...interface{}) {
	fmt.Printf(format+"\n", a...)
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "peer: %s\nusage: peer server|client -name NAME -suite SUITE ... (see peer.go)\n", msg)
	os.Exit(2)
}

// suiteID maps an IANA suite name to Go's id; Go knows the TLS_RSA_* ones too (CipherSuites
// lists them; InsecureCipherSuites the CBC-SHA256 and RC4 ones).
func suiteID(name string) (uint16, bool) {
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			if s.Name == name {
				return s.ID, true
			}
		}
	}
	return 0, false
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s", path)
	}
	return pool, nil
}

var curveIDs = map[string]tls.CurveID{
	"X25519": tls.X25519, "P256": tls.CurveP256, "P384": tls.CurveP384, "P521": tls.CurveP521,
}

// baseConfig: the versions of -version (TLS 1.2 only by default), the one suite (none: Go's
// defaults), the groups of -curves, the certificate chain when given.
func baseConfig(suite, cert, key, version, curves string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	switch version {
	case "1.2":
	case "1.3":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	case "any":
		cfg.MaxVersion = 0
	default:
		return nil, fmt.Errorf("unknown -version %q (1.2, 1.3 or any)", version)
	}
	if suite != "" {
		id, ok := suiteID(suite)
		if !ok {
			return nil, fmt.Errorf("Go does not know the suite %q", suite)
		}
		cfg.CipherSuites = []uint16{id}
	} else if version == "1.2" {
		return nil, errors.New("-version 1.2 needs -suite")
	}
	if curves != "" {
		for _, name := range strings.Split(curves, ",") {
			id, ok := curveIDs[name]
			if !ok {
				return nil, fmt.Errorf("unknown curve %q", name)
			}
			cfg.CurvePreferences = append(cfg.CurvePreferences, id)
		}
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("loading %s / %s: %v", cert, key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ---- server -------------------------------------------------------------------------------

func serveOne(ln net.Listener, cfg *tls.Config, token string) (string, error) {
	raw, err := ln.Accept()
	if err != nil {
		return "", fmt.Errorf("accept: %v", err)
	}
	conn := tls.Server(raw, cfg)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if err := conn.Handshake(); err != nil {
		return "", fmt.Errorf("handshake: %v", err)
	}
	st := conn.ConnectionState()
	peer := "none"
	if len(st.PeerCertificates) > 0 {
		peer = st.PeerCertificates[0].Subject.String()
	}
	// Echo until the client's close_notify (Read returns io.EOF).
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			got = append(got, buf[:n]...)
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return "", fmt.Errorf("echo: %v", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read: %v", err)
		}
	}
	// Close sends our close_notify.
	if err := conn.Close(); err != nil {
		return "", fmt.Errorf("close: %v", err)
	}
	tok := "none"
	if len(got) > 0 {
		tok = "bad"
		if token != "" && string(got) == token+"\n" {
			tok = "ok"
		}
	}
	return fmt.Sprintf("version=%s suite=%s resumed=%s peer=%s received=%d token=%s",
		versionName(st.Version), tls.CipherSuiteName(st.CipherSuite), yesNo(st.DidResume),
		strings.ReplaceAll(peer, " ", "_"), len(got), tok), nil
}

func server(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	name := fs.String("name", "case", "case name for the report lines")
	cert := fs.String("cert", "", "certificate chain (PEM, leaf first)")
	key := fs.String("key", "", "private key (PEM)")
	ca := fs.String("ca", "", "CA certificates client certificates must chain to")
	suite := fs.String("suite", "", "the one cipher suite (IANA name)")
	version := fs.String("version", "1.2", "1.2, 1.3 or any")
	curves := fs.String("curves", "", "key-exchange groups, comma separated (X25519,P256,P384)")
	require := fs.Bool("require-client-cert", false, "tls.RequireAndVerifyClientCert")
	conns := fs.Int("conns", 1, "connections to serve")
	token := fs.String("token", "", "the line a connection's data should be")
	acceptTimeout := fs.Int("accept-timeout", 30, "seconds to wait for each connection")
	fs.Parse(args)
	if *cert == "" || *key == "" {
		usage("server needs -cert and -key")
	}
	cfg, err := baseConfig(*suite, *cert, *key, *version, *curves)
	if err != nil {
		out("CONN %s #1 FAIL setup: %v", *name, err)
		os.Exit(1)
	}
	if *require {
		if *ca == "" {
			usage("-require-client-cert needs -ca")
		}
		pool, err := loadPool(*ca)
		if err != nil {
			out("CONN %s #1 FAIL setup: %v", *name, err)
			os.Exit(1)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		out("CONN %s #1 FAIL listen: %v", *name, err)
		os.Exit(1)
	}
	defer ln.Close()
	out("LISTEN %d", ln.Addr().(*net.TCPAddr).Port)
	for i := 1; i <= *conns; i++ {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(time.Duration(*acceptTimeout) * time.Second))
		report, err := serveOne(ln, cfg, *token)
		if err != nil {
			failed = true
			out("CONN %s #%d FAIL %s", *name, i, oneLine(err))
			continue
		}
		out("CONN %s #%d ok %s", *name, i, report)
	}
	out("DONE %s", *name)
}

// ---- client -------------------------------------------------------------------------------

func connectOne(addr string, cfg *tls.Config, token string) (string, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		// Dial runs the handshake: a refused handshake ends up here.
		return "", fmt.Errorf("handshake: %v", err)
	}
	conn := c.(*tls.Conn)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	st := conn.ConnectionState()
	if len(st.VerifiedChains) == 0 {
		return "", errors.New("no verified chain (the server was not verified)")
	}
	if _, err := conn.Write([]byte(token + "\n")); err != nil {
		return "", fmt.Errorf("write: %v", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the echo: %v (got %q)", err, line)
	}
	if line != token+"\n" {
		return "", fmt.Errorf("token not echoed: got %q", line)
	}
	// Our close_notify, then read until the server's.
	if err := conn.CloseWrite(); err != nil {
		return "", fmt.Errorf("close_notify: %v", err)
	}
	if rest, err := io.ReadAll(conn); err != nil || len(rest) > 0 {
		return "", fmt.Errorf("waiting for the server's close_notify: %v (%d more bytes)", err, len(rest))
	}
	clientCert := "none"
	if len(cfg.Certificates) > 0 {
		clientCert = "sent"
	}
	return fmt.Sprintf("version=%s suite=%s resumed=%s server=%s client-cert=%s",
		versionName(st.Version), tls.CipherSuiteName(st.CipherSuite), yesNo(st.DidResume),
		strings.ReplaceAll(st.PeerCertificates[0].Subject.String(), " ", "_"), clientCert), nil
}

func client(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	name := fs.String("name", "case", "case name for the report lines")
	addr := fs.String("connect", "", "HOST:PORT of the server")
	ca := fs.String("ca", "", "CA certificates to trust (RootCAs)")
	cert := fs.String("cert", "", "client certificate chain (PEM, leaf first)")
	key := fs.String("key", "", "its private key (PEM)")
	suite := fs.String("suite", "", "the one cipher suite (IANA name)")
	version := fs.String("version", "1.2", "1.2, 1.3 or any")
	curves := fs.String("curves", "", "key-exchange groups, comma separated (X25519,P256,P384)")
	serverName := fs.String("servername", "good.test", "SNI and the name the certificate must hold")
	conns := fs.Int("conns", 1, "connections, one session cache: the later ones resume")
	token := fs.String("token", "", "the line to send and expect back")
	fs.Parse(args)
	if *addr == "" || *ca == "" || *token == "" {
		usage("client needs -connect, -ca and -token")
	}
	cfg, err := baseConfig(*suite, *cert, *key, *version, *curves)
	if err == nil {
		cfg.RootCAs, err = loadPool(*ca)
	}
	if err != nil {
		out("RESULT %s #1 FAIL setup: %v", *name, err)
		os.Exit(1)
	}
	cfg.ServerName = *serverName
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	for i := 1; i <= *conns; i++ {
		report, err := connectOne(*addr, cfg, *token)
		if err != nil {
			failed = true
			out("RESULT %s #%d FAIL %s", *name, i, oneLine(err))
			return
		}
		out("RESULT %s #%d ok %s", *name, i, report)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage("no mode")
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2:])
	case "client":
		client(os.Args[2:])
	default:
		usage("unknown mode " + os.Args[1])
	}
	if failed {
		os.Exit(1)
	}
}
