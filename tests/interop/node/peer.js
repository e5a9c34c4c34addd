// peer.js -- the Node.js (node:tls) peer of tests/interop/tls13-runtimes.test.sh.
//
// Run with `node peer.js`; needs nothing but Node.  The same command line and report lines as
// tests/interop/go/peer.go, on 127.0.0.1:
//
//   node peer.js server -name NAME -cert CHAIN.pem -key KEY.pem [-ca CA.pem -require-client-cert]
//                [-version 1.3|any] [-curves P-256:...] [-conns N] [-token TOKEN] [-accept-timeout S]
//       Listens on a port picked by the kernel, prints "LISTEN PORT", then serves N connections:
//       handshake, echo what arrives until the client's close_notify, then end (our
//       close_notify).  Session tickets are Node's default (on).  One line per connection:
//         CONN NAME #i ok version=TLS1.3 suite=SUITE resumed=yes|no peer=SUBJECT|none received=N token=ok|none|bad
//         CONN NAME #i FAIL <error>
//       then "DONE NAME".  Gives up after -accept-timeout seconds without a connection.
//
//   node peer.js client -name NAME -connect 127.0.0.1:PORT -ca CA.pem [-cert CHAIN.pem -key KEY.pem]
//                [-servername good.test] [-version 1.3|any] [-curves ...] [-conns N] -token TOKEN
//       N connections one after the other, each offering the session (ticket) the one before
//       received: handshake (the server verified against -ca and -servername), send "TOKEN\n",
//       expect it back, end (close_notify), wait for the server's.  One line per connection:
//         RESULT NAME #i ok version=TLS1.3 suite=SUITE resumed=yes|no server=SUBJECT client-cert=sent|none
//         RESULT NAME #i FAIL <error>
//       Stops at the first failure.
//
// -version 1.3: TLS 1.3 only; any: Node's default range (TLS 1.2 and 1.3).  -curves: the
// groups (ecdhCurve), ':' separated.  Exit status 1 when a connection failed.
'use strict';
const fs = require('fs');
const tls = require('tls');

let failed = false;

function out(line) {
    process.stdout.write(line + '\n');
}

function usage(msg) {
    process.stderr.write(`peer: ${msg}\nusage: node peer.js server|client -name NAME ... (see peer.js)\n`);
    process.exit(2);
}

function parse(args, bools) {
    const o = {};
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith('-')) usage(`unexpected argument ${a}`);
        const k = a.slice(1);
        if (bools.includes(k)) {
            o[k] = true;
        } else {
            if (i + 1 >= args.length) usage(`${a} needs a value`);
            o[k] = args[++i];
        }
    }
    return o;
}

function versions(o) {
    const v = o.version || 'any';
    if (v === '1.3') return { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
    if (v === 'any') return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
    usage(`unknown -version ${v} (1.3 or any)`);
}

function versionName(p) {
    return p === 'TLSv1.3' ? 'TLS1.3' : p === 'TLSv1.2' ? 'TLS1.2' : String(p);
}

function subject(cert) {
    if (!cert || !cert.subject || !cert.subject.CN) return 'none';
    return 'CN=' + cert.subject.CN;
}

function oneLine(err) {
    return String(err && err.message ? err.message : err).replace(/\n/g, ' ');
}

// ---- server ------------------------------------------------------------------------------

function server(o) {
    if (!o.cert || !o.key) usage('server needs -cert and -key');
    const conns = parseInt(o.conns || '1', 10);
    const opts = Object.assign({
        cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key),
    }, versions(o));
    if (o.curves) opts.ecdhCurve = o.curves;
    if (o['require-client-cert']) {
        if (!o.ca) usage('-require-client-cert needs -ca');
        Object.assign(opts, { ca: fs.readFileSync(o.ca), requestCert: true, rejectUnauthorized: true });
    }
    let n = 0;
    let timer;
    const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
            failed = true;
            out(`CONN ${o.name} #${n + 1} FAIL no connection within ${o['accept-timeout'] || 30} s`);
            out(`DONE ${o.name}`);
            process.exit(1);
        }, 1000 * parseInt(o['accept-timeout'] || '30', 10));
    };
    const srv = tls.createServer(opts, (sock) => {
        const i = ++n;
        // what the handshake gave, taken now: a closed socket no longer knows
        const info = `version=${versionName(sock.getProtocol())} suite=${sock.getCipher().standardName} ` +
            `resumed=${sock.isSessionReused() ? 'yes' : 'no'} peer=${subject(sock.getPeerCertificate())}`;
        const chunks = [];
        let received = 0;
        sock.setTimeout(15000, () => sock.destroy(new Error('timeout')));
        sock.on('data', (d) => { chunks.push(d); received += d.length; sock.write(d); });
        sock.on('end', () => sock.end());   // the client's close_notify: ours, then close
        sock.on('error', (e) => { failed = true; out(`CONN ${o.name} #${i} FAIL ${oneLine(e)}`); });
        sock.on('close', (hadError) => {
            if (!hadError) {
                const got = Buffer.concat(chunks).toString();
                const tok = received === 0 ? 'none' : (o.token && got === o.token + '\n' ? 'ok' : 'bad');
                out(`CONN ${o.name} #${i} ok ${info} received=${received} token=${tok}`);
            }
            if (i === conns) {
                out(`DONE ${o.name}`);
                srv.close();
                clearTimeout(timer);
            } else {
                arm();
            }
        });
    });
    srv.on('tlsClientError', (e) => {
        failed = true;
        n++;
        out(`CONN ${o.name} #${n} FAIL handshake: ${oneLine(e)}`);
        if (n === conns) { out(`DONE ${o.name}`); srv.close(); clearTimeout(timer); }
    });
    srv.listen(0, '127.0.0.1', () => { out(`LISTEN ${srv.address().port}`); arm(); });
}

// ---- client ------------------------------------------------------------------------------

function connectOne(o, i, session) {
    return new Promise((resolve) => {
        const [host, port] = o.connect.split(':');
        const opts = Object.assign({
            host, port: parseInt(port, 10), servername: o.servername || 'good.test',
            ca: fs.readFileSync(o.ca), rejectUnauthorized: true,
        }, versions(o));
        if (o.curves) opts.ecdhCurve = o.curves;
        if (o.cert) Object.assign(opts, { cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key) });
        if (session) opts.session = session;
        let latest = null;
        let got = '';
        let info = '';
        let done = false;
        const fail = (why) => {
            if (done) return;
            done = true;
            out(`RESULT ${o.name} #${i} FAIL ${why}`);
            failed = true;
            sock.destroy();
            resolve({ ok: false });
        };
        const sock = tls.connect(opts, () => {
            if (!sock.authorized) return fail(`not verified: ${sock.authorizationError}`);
            info = `version=${versionName(sock.getProtocol())} suite=${sock.getCipher().standardName} ` +
                `resumed=${sock.isSessionReused() ? 'yes' : 'no'} server=${subject(sock.getPeerCertificate())}`;
            sock.write(o.token + '\n');
        });
        sock.setTimeout(15000, () => fail('timeout'));
        sock.on('session', (s) => { latest = s; });   // TLS 1.3: a NewSessionTicket
        sock.on('data', (d) => {
            got += d.toString();
            if (got === o.token + '\n') sock.end();     // our close_notify
            else if (!(o.token + '\n').startsWith(got)) fail(`token not echoed: got ${JSON.stringify(got)}`);
        });
        sock.on('error', (e) => fail(oneLine(e)));
        sock.on('close', () => {
            if (done) return;
            if (got !== o.token + '\n') return fail(`closed before the token came back (got ${JSON.stringify(got)})`);
            done = true;
            out(`RESULT ${o.name} #${i} ok ${info} client-cert=${o.cert ? 'sent' : 'none'}`);
            resolve({ ok: true, session: latest });
        });
    });
}

async function client(o) {
    if (!o.connect || !o.ca || !o.token) usage('client needs -connect, -ca and -token');
    let session = null;
    for (let i = 1; i <= parseInt(o.conns || '1', 10); i++) {
        const r = await connectOne(o, i, session);
        if (!r.ok) break;
        session = r.session;
    }
}

const mode = process.argv[2];
const o = parse(process.argv.slice(3), ['require-client-cert']);
if (!o.name) o.name = 'case';
if (mode === 'server') server(o);
else if (mode === 'client') client(o).then(() => process.exit(failed ? 1 : 0));
else usage('no mode');
process.on('exit', (code) => { if (failed && code === 0) process.exitCode = 1; });
