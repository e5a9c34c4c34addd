#!/usr/bin/env python3
"""peer.py -- the Python (ssl module) peer of tests/interop/tls13-runtimes.test.sh.

Standard library only.  The same command line and report lines as tests/interop/go/peer.go,
on 127.0.0.1:

  peer.py server -name NAME -cert CHAIN.pem -key KEY.pem [-ca CA.pem -require-client-cert]
          [-version 1.3|any] [-curves prime256v1] [-conns N] [-token TOKEN] [-accept-timeout S]
      Listens on a port picked by the kernel, prints "LISTEN PORT", then serves N connections
      one after the other: handshake, echo what arrives until the client's close_notify, then
      unwrap (our close_notify).  TLS 1.3 session tickets are the ssl module's default (2).
      One line per connection:
        CONN NAME #i ok version=TLS1.3 suite=SUITE resumed=yes|no peer=SUBJECT|none received=N token=ok|none|bad
        CONN NAME #i FAIL <error>
      then "DONE NAME".

  peer.py client -name NAME -connect 127.0.0.1:PORT -ca CA.pem [-cert CHAIN.pem -key KEY.pem]
          [-servername good.test] [-version 1.3|any] [-curves ...] [-conns N] -token TOKEN
      N connections one after the other, each offering the session of the one before (in TLS
      1.3 the ticket, which arrives with the echo): handshake (the server verified against -ca
      and -servername), send "TOKEN\\n", expect it back, unwrap (close_notify both ways).  One
      line per connection:
        RESULT NAME #i ok version=TLS1.3 suite=SUITE resumed=yes|no server=SUBJECT client-cert=sent|none
        RESULT NAME #i FAIL <error>
      Stops at the first failure.

-version 1.3: TLS 1.3 only; any: the ssl module's default range (TLS 1.2 and 1.3).  -curves:
the one key-exchange group (SSLContext.set_ecdh_curve: OpenSSL 3 then offers only that one).
Exit status 1 when a connection failed.
"""
import socket
import ssl
import sys

SUITES = {  # OpenSSL's names of the TLS 1.3 suites are the IANA ones; TLS 1.2 ones are not
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
}
failed = False


def out(line):
    print(line, flush=True)


def usage(msg):
    sys.stderr.write(f"peer: {msg}\nusage: peer.py server|client -name NAME ... (see peer.py)\n")
    sys.exit(2)


def parse(args, bools):
    o = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-"):
            usage(f"unexpected argument {a}")
        k = a[1:]
        if k in bools:
            o[k] = True
        else:
            if i + 1 >= len(args):
                usage(f"{a} needs a value")
            i += 1
            o[k] = args[i]
        i += 1
    o.setdefault("name", "case")
    return o


def configure(ctx, o):
    v = o.get("version", "any")
    if v == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    elif v == "any":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    else:
        usage(f"unknown -version {v} (1.3 or any)")
    if "curves" in o:
        ctx.set_ecdh_curve(o["curves"])


def version_name(v):
    return {"TLSv1.3": "TLS1.3", "TLSv1.2": "TLS1.2"}.get(v, str(v))


def subject(cert):
    for rdn in (cert or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return "CN=" + v
    return "none"


def info(s):
    suite = s.cipher()[0]
    return (f"version={version_name(s.version())} suite={SUITES.get(suite, suite)} "
            f"resumed={'yes' if s.session_reused else 'no'}")


def one_line(e):
    return str(e).replace("\n", " ")


# ---- server -------------------------------------------------------------------------------

def serve_one(ls, ctx, token):
    raw, _ = ls.accept()
    raw.settimeout(15)
    with raw:
        try:
            s = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            raise RuntimeError(f"handshake: {one_line(e)}")
        got = b""
        while True:  # echo until the client's close_notify (recv gives b"")
            d = s.recv(4096)
            if not d:
                break
            got += d
            s.sendall(d)
        report = f"{info(s)} peer={subject(s.getpeercert())} received={len(got)}"
        s.unwrap()  # our close_notify
        tok = "none" if not got else ("ok" if token and got == (token + "\n").encode() else "bad")
        return f"{report} token={tok}"


def server(o):
    global failed
    if "cert" not in o or "key" not in o:
        usage("server needs -cert and -key")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    configure(ctx, o)
    ctx.load_cert_chain(o["cert"], o["key"])
    if o.get("require-client-cert"):
        if "ca" not in o:
            usage("-require-client-cert needs -ca")
        ctx.load_verify_locations(o["ca"])
        ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    ls.settimeout(int(o.get("accept-timeout", "30")))
    out(f"LISTEN {ls.getsockname()[1]}")
    for i in range(1, int(o.get("conns", "1")) + 1):
        try:
            out(f"CONN {o['name']} #{i} ok {serve_one(ls, ctx, o.get('token'))}")
        except Exception as e:  # report every failure as a line, go on with the next
            failed = True
            out(f"CONN {o['name']} #{i} FAIL {one_line(e)}")
    out(f"DONE {o['name']}")


# ---- client -------------------------------------------------------------------------------

def connect_one(ctx, o, session):
    host, port = o["connect"].rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=10)
    raw.settimeout(15)
    with raw:
        s = ctx.wrap_socket(raw, server_hostname=o.get("servername", "good.test"), session=session)
        report = f"{info(s)} server={subject(s.getpeercert())}"
        want = (o["token"] + "\n").encode()
        s.sendall(want)
        got = b""
        while len(got) < len(want):
            d = s.recv(4096)
            if not d:
                break
            got += d
        if got != want:
            raise RuntimeError(f"token not echoed: got {got!r}")
        session = s.session  # with the ticket that came before the echo; gone after unwrap
        s.unwrap()  # close_notify, and the server's
        cert = "sent" if "cert" in o else "none"
        return f"{report} client-cert={cert}", session


def client(o):
    global failed
    if "connect" not in o or "ca" not in o or "token" not in o:
        usage("client needs -connect, -ca and -token")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    configure(ctx, o)
    ctx.load_verify_locations(o["ca"])
    if "cert" in o:
        ctx.load_cert_chain(o["cert"], o["key"])
    session = None
    for i in range(1, int(o.get("conns", "1")) + 1):
        try:
            report, session = connect_one(ctx, o, session)
            out(f"RESULT {o['name']} #{i} ok {report}")
        except Exception as e:
            failed = True
            out(f"RESULT {o['name']} #{i} FAIL {one_line(e)}")
            return


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("server", "client"):
        usage("no mode")
    o = parse(sys.argv[2:], ["require-client-cert"])
    server(o) if sys.argv[1] == "server" else client(o)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
