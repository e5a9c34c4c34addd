// TlsPeer.java -- the JSSE (OpenJDK) peer of tests/interop/java.test.sh.
//
// Compiled at test time with javac into a temporary directory; needs nothing but the JDK.
// One JVM runs several cases (the JVM starts slowly), each on 127.0.0.1, TLS 1.2 only unless a
// case names its protocols (tests/interop/tls13-runtimes.test.sh: TLS 1.3).
//
//   java TlsPeer client TRUSTSTORE.p12 PASS CASE...
//       CASE = name,port,suite[,keystore.p12[,connections[,protocols[,lines]]]]
//       suite "-": the JDK's default suites; protocols: '+' separated (TLSv1.3+TLSv1.2; default
//       TLSv1.2); lines: how many token lines each connection sends and expects echoed (1)
//       For each case: connect to 127.0.0.1:port with SNI good.test (and the host name checked
//       against good.test: endpoint identification "HTTPS"), offer only `suite`, present the
//       client certificate of keystore.p12 when given, send a random token line, expect it
//       echoed, half-close (close_notify) and read to the end.  With connections > 1 the same
//       SSLContext connects again, which offers the cached session (TLS 1.2: session id or
//       ticket); a connection whose session has the first connection's id, creation time and
//       master secret is reported as resumed; in TLS 1.3, where JSSE gives a resumed session a
//       new id and keeps the creation time of the session it resumed, one with the first
//       connection's creation time.  Prints one line per connection:
//         RESULT name #i ok protocol=TLSv1.2 suite=... resumed=yes|no id=HEX token=...
//         RESULT name #i FAIL <exception>
//
//   java TlsPeer server TRUSTSTORE.p12 PASS SPEC...
//       SPEC = name,keystore.p12,suite,connections[,protocols]
//       One SSLServerSocket per SPEC on 127.0.0.1, an ephemeral port, needClientAuth(true),
//       only `suite` enabled (or the defaults: "-"), the protocols as for the client; prints
//       "LISTEN name PORT" for each, then "READY".  Each
//       connection: handshake, echo what arrives until the client's close_notify, close.
//       Prints one line per connection:
//         CONN name #i ok protocol=... suite=... peer=SUBJECT resumed=yes|no echoed=N
//         CONN name #i FAIL <exception>
//       (resumed: in TLS 1.3, the creation time of an earlier connection's session) and
//       "DONE name" when a SPEC has served its connections.  Exits after all of them (the
//       test bounds it with `timeout`).
//
// The password of every store is PASS.  Everything goes to stdout, one line at a time.
import java.io.*;
import java.net.*;
import java.security.*;
import java.security.cert.X509Certificate;
import java.util.*;
import java.util.concurrent.*;
import javax.net.ssl.*;

public final class TlsPeer {
    static final String HOST = "good.test";

    static synchronized void out(String s) {
        System.out.println(s);
        System.out.flush();
    }

    static KeyStore load(String path, char[] pass) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(path)) {
            ks.load(in, pass);
        }
        return ks;
    }

    static SSLContext context(String trust, String keystore, char[] pass) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(load(trust, pass));
        KeyManager[] kms = null;
        if (keystore != null) {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(load(keystore, pass), pass);
            kms = kmf.getKeyManagers();
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kms, tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.length() == 0 ? "-" : sb.toString();
    }

    static String token() {
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        return "tok-" + hex(b);
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') buf.write(c);
        if (c == -1 && buf.size() == 0) return null;
        return buf.toString("UTF-8");
    }

    static String why(Throwable e) {
        StringBuilder sb = new StringBuilder(e.toString());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause())
            sb.append(" <- ").append(c);
        return sb.toString().replace('\n', ' ');
    }

    // ---- client ----------------------------------------------------------------------------

    static void clientCase(String trust, char[] pass, String spec) {
        String[] f = spec.split(",");
        String name = f[0];
        int port = Integer.parseInt(f[1]);
        String suite = f[2];
        String keystore = f.length > 3 && !f[3].isEmpty() ? f[3] : null;
        int conns = f.length > 4 ? Integer.parseInt(f[4]) : 1;
        String[] protocols = (f.length > 5 ? f[5] : "TLSv1.2").split("\\+");
        int lines = f.length > 6 ? Integer.parseInt(f[6]) : 1;
        SSLContext ctx;
        try {
            ctx = context(trust, keystore, pass);
        } catch (Exception e) {
            out("RESULT " + name + " #1 FAIL setup: " + why(e));
            return;
        }
        byte[] firstId = null;
        long firstCreated = 0;
        for (int i = 1; i <= conns; i++) {
            String tok = token();
            try (Socket raw = new Socket()) {
                raw.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 10000);
                raw.setSoTimeout(15000);
                SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, HOST, port, true);
                SSLParameters p = s.getSSLParameters();
                p.setProtocols(protocols);
                if (!suite.equals("-")) p.setCipherSuites(new String[] {suite});
                p.setEndpointIdentificationAlgorithm("HTTPS");
                p.setServerNames(List.of(new SNIHostName(HOST)));
                s.setSSLParameters(p);
                s.startHandshake();
                SSLSession sess = s.getSession();
                OutputStream o = s.getOutputStream();
                InputStream in = s.getInputStream();
                String line = null;
                boolean echoed = true;
                for (int l = 0; l < lines && echoed; l++) {
                    if (l > 0) tok = token();
                    o.write((tok + "\n").getBytes("UTF-8"));
                    o.flush();
                    line = readLine(in);
                    echoed = tok.equals(line);
                }
                // close_notify from us, then the server's (read returns -1).
                s.shutdownOutput();
                while (in.read() != -1) { }
                boolean resumed = false;
                if (i == 1) {
                    firstId = sess.getId();
                    firstCreated = sess.getCreationTime();
                } else {
                    resumed = sess.getProtocol().equals("TLSv1.3")
                            ? firstCreated == sess.getCreationTime()
                            : firstId != null && firstId.length > 0 && Arrays.equals(firstId, sess.getId())
                                    && firstCreated == sess.getCreationTime();
                }
                s.close();
                out("RESULT " + name + " #" + i + (echoed ? " ok" : " FAIL token not echoed (got " + line + ")")
                        + " protocol=" + sess.getProtocol() + " suite=" + sess.getCipherSuite()
                        + " resumed=" + (resumed ? "yes" : "no") + " id=" + hex(sess.getId())
                        + " local-cert=" + (sess.getLocalCertificates() != null ? "sent" : "none")
                        + " token=" + tok);
            } catch (Exception e) {
                out("RESULT " + name + " #" + i + " FAIL " + why(e));
                return;
            }
        }
    }

    // ---- server ----------------------------------------------------------------------------

    static void serve(SSLServerSocket ss, String name, int conns) {
        Set<String> seen = new HashSet<>();
        for (int i = 1; i <= conns; i++) {
            try (SSLSocket s = (SSLSocket) ss.accept()) {
                s.setSoTimeout(15000);
                s.startHandshake();
                SSLSession sess = s.getSession();
                String id = hex(sess.getId());
                boolean resumed = sess.getProtocol().equals("TLSv1.3")
                        ? !seen.add("created/" + sess.getCreationTime())
                        : !id.equals("-") && !seen.add(id + "/" + sess.getCreationTime());
                String peer;
                try {
                    peer = ((X509Certificate) sess.getPeerCertificates()[0]).getSubjectX500Principal().getName();
                } catch (SSLPeerUnverifiedException e) {
                    peer = "none";
                }
                InputStream in = s.getInputStream();
                OutputStream o = s.getOutputStream();
                byte[] buf = new byte[4096];
                int n, total = 0;
                while ((n = in.read(buf)) != -1) {   // until the client's close_notify
                    o.write(buf, 0, n);
                    o.flush();
                    total += n;
                }
                out("CONN " + name + " #" + i + " ok protocol=" + sess.getProtocol() + " suite="
                        + sess.getCipherSuite() + " peer=" + peer.replace(' ', '_') + " resumed="
                        + (resumed ? "yes" : "no") + " echoed=" + total);
            } catch (Exception e) {
                out("CONN " + name + " #" + i + " FAIL " + why(e));
            }
        }
        out("DONE " + name);
    }

    static void server(String trust, char[] pass, String[] specs) throws Exception {
        List<Thread> threads = new ArrayList<>();
        for (String spec : specs) {
            String[] f = spec.split(",");
            String name = f[0];
            SSLContext ctx = context(trust, f[1], pass);
            SSLServerSocket ss = (SSLServerSocket) ctx.getServerSocketFactory()
                    .createServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            SSLParameters p = ss.getSSLParameters();
            p.setProtocols((f.length > 4 ? f[4] : "TLSv1.2").split("\\+"));
            if (!f[2].equals("-")) p.setCipherSuites(new String[] {f[2]});
            p.setNeedClientAuth(true);
            ss.setSSLParameters(p);
            ss.setSoTimeout(60000);   // a client that never comes: give up on this SPEC
            int conns = Integer.parseInt(f[3]);
            out("LISTEN " + name + " " + ss.getLocalPort());
            Thread t = new Thread(() -> serve(ss, name, conns), name);
            t.start();
            threads.add(t);
        }
        out("READY");
        for (Thread t : threads) t.join();
    }

    public static void main(String[] a) throws Exception {
        if (a.length < 4) {
            System.err.println("usage: TlsPeer client|server TRUSTSTORE PASS CASE...");
            System.exit(2);
        }
        char[] pass = a[2].toCharArray();
        String[] rest = Arrays.copyOfRange(a, 3, a.length);
        if (a[0].equals("client")) {
            for (String spec : rest) clientCase(a[1], pass, spec);
        } else {
            server(a[1], pass, rest);
        }
    }
}
