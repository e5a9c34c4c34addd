#!/usr/bin/env python3
# tlsfuzzer-table.py RESULTS [--openssl RESULTS2] [--doc FILE] -- the results tables of
# docs/CONFORMANCE.md, made from runs of tlsfuzzer.test.sh with TLSFUZZER_RESULTS=RESULTS (one
# tab-separated line per list entry: result, profile, script, seconds, tlsfuzzer's
# PASS/XFAIL/FAIL/XPASS counts, the arguments separated by \x1f; lines "# server WHAT" and
# "# Ns in all" say what was tested and how long the whole run took).
#
# Prints a paragraph (commit, date, totals) and a Markdown table with one row per entry.  With
# --openssl RESULTS2 (a run with TLSFUZZER_SERVER=openssl and tlsfuzzer-openssl.list) also the
# comparison of the TLS 1.3 entries with OpenSSL's, entry by entry (the two lists hold the same
# entries in the same order; OpenSSL's extra ones show as not run by mtls).  With --doc FILE the
# tables replace the text between the lines
#     <!-- tlsfuzzer-results begin -->   and   <!-- tlsfuzzer-results end -->
#     <!-- tlsfuzzer-openssl begin -->   and   <!-- tlsfuzzer-openssl end -->
# of FILE instead, so that the page always shows a measured run, never a hand-edited one.
#
# The arguments column leaves out the expected failures (-x/-X) and exclusions (-e), which the
# list explains one by one, shortens long values (key and certificate files, signature and
# extension lists) to "…", and counts the probe names an entry runs instead of the whole script.
import datetime
import os
import re
import subprocess
import sys

# tlsfuzzer options of the listed scripts that take no value; every other option takes one.
FLAGS = {
    "-d", "-M", "--ems", "--cookie", "--relaxed", "--coalescing", "--supgroup", "--no-sha1",
    "--ecdsa", "--extra-exts", "--illegpar", "--swap-ciphers", "--no-ssl2", "--no-status",
    "--no-renego", "--no-new-ticket-on-resumption", "--tls-1.3", "--pha-as-reply",
    "--cert-required", "--pha-in-sanity", "--skip-bombs", "--no-fuzz",
}
ELIDE = {"-k", "-c", "-T", "-s", "-E", "--query", "--groups"}
DROP = {"-x", "-X", "-e"}


def show_args(args):
    out, names, i = [], 0, 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-"):
            names = len(args) - i  # the scripts read no option after the first probe name
            break
        if a in FLAGS:
            out.append(a)
            i += 1
            continue
        value = args[i + 1] if i + 1 < len(args) else ""
        if a not in DROP:
            out += [a, "…" if a in ELIDE else value]
        i += 2
    text = "`%s`" % " ".join(out) if out else ""
    if names:
        text += ("; " if text else "") + "%d named probe%s" % (names, "s" if names > 1 else "")
    return text


def read(path):
    """The entries of a results file, and its "# ..." facts."""
    rows, facts = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"# (\d+)s in all", line)
            if m:
                facts["wall"] = int(m.group(1))
            m = re.match(r"# server (.*)", line)
            if m:
                facts["server"] = m.group(1)
            if not line or line.startswith("#"):
                continue
            res, prof, script, secs, p, xf, fl, xp, args = line.split("\t")
            args = [re.sub(r"^/\S*/pki/", "$PKI/", a) for a in args.split("\x1f")] if args else []
            rows.append((res, prof, script, int(secs or 0), int(p or 0), int(xf or 0),
                         int(fl or 0) + int(xp or 0), args))
    return rows, facts


def results_table(rows, facts, commit, date):
    n13 = sum(1 for r in rows if "tls13" in r[2])
    ok = sum(1 for r in rows if r[0] == "ok")
    total = lambda k: sum(r[k] for r in rows)
    wall = facts.get("wall")
    text = [
        "Measured on commit %s (%s) by `tests/conformance/tlsfuzzer-table.py` from a run of the "
        "list against %s, with the tlsfuzzer and tlslite-ng trees in /work/tlsf.  `pass`, "
        "`xfail` and `fail` are tlsfuzzer's counts of probes (sanity probes included; `-n` "
        "samples are random, so their probes vary from run to run; `fail` includes probes "
        "marked -x that passed); `s` is seconds.  %d entries (%d TLS 1.2, %d TLS 1.3): %d "
        "passed, %d failed; %d probes passed, %d failed as expected, %d failed; the scripts "
        "took %d s%s."
        % (commit, date, facts.get("server", "mtls server"), len(rows), len(rows) - n13, n13,
           ok, len(rows) - ok, total(4), total(5), total(6), total(3),
           ", the whole run %d s (test PKIs and servers included)" % wall if wall else ""),
        "",
        "| profile | script | arguments (besides -x/-X/-e) | pass | xfail | fail | s | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res, prof, script, secs, p, xf, fl, args in rows:
        text.append("| %s | `%s` | %s | %d | %d | %d | %d | %s |"
                    % (prof, script, show_args(args), p, xf, fl, secs,
                       "ok" if res == "ok" else "**FAIL**"))
    return "\n".join(text) + "\n"


def openssl_table(rows, orows, ofacts, date):
    """mtls and OpenSSL side by side, entry by entry, for the TLS 1.3 scripts."""
    def keyed(rs):
        seen, out = {}, []
        for r in rs:
            k = (r[1], r[2])
            seen[k] = seen.get(k, 0) + 1
            out.append((k + (seen[k],), r))
        return out
    mine = dict(keyed([r for r in rows if "tls13" in r[2]]))
    text = [
        "Both runs on %s, entry by entry: mtls with tlsfuzzer.list (its expected failures "
        "counted as xfail), %s with tlsfuzzer-openssl.list (the same entries without expected "
        "failures, and the options that describe OpenSSL).  Counts are pass / xfail / fail."
        % (date, ofacts.get("server", "OpenSSL's s_server")),
        "",
        "| script | profile | mtls | | OpenSSL | |",
        "|---|---|---|---|---|---|",
    ]
    same = lambda r: "ok" if r[0] == "ok" else "**FAIL**"
    for k, o in keyed(orows):
        m = mine.pop(k, None)
        text.append("| `%s` | %s | %s | %s | %d / %d / %d | %s |"
                    % (o[2], o[1], "%d / %d / %d" % (m[4], m[5], m[6]) if m else "not run",
                       same(m) if m else "", o[4], o[5], o[6], same(o)))
    for k, m in mine.items():
        text.append("| `%s` | %s | %d / %d / %d | %s | not run | |"
                    % (m[2], m[1], m[4], m[5], m[6], same(m)))
    return "\n".join(text) + "\n"


def splice(page, name, table):
    begin, end = "<!-- %s begin -->\n" % name, "<!-- %s end -->\n" % name
    a, b = page.find(begin), page.find(end)
    if a < 0 or b < a:
        sys.exit("the page has no %s ... %s block" % (begin.strip(), end.strip()))
    return page[:a + len(begin)] + table + page[b:]


def main():
    argv = sys.argv[1:]
    opt = {}
    for name in ("--doc", "--openssl"):
        if name in argv:
            k = argv.index(name)
            opt[name] = argv[k + 1]
            del argv[k:k + 2]
    if len(argv) != 1:
        sys.exit("usage: tlsfuzzer-table.py RESULTS [--openssl RESULTS2] [--doc FILE]")
    rows, facts = read(argv[0])
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    git = lambda *a: subprocess.run(["git", "-C", src] + list(a), capture_output=True,
                                    text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    date = datetime.date.today().isoformat()
    tables = [("tlsfuzzer-results", results_table(rows, facts, commit, date))]
    if "--openssl" in opt:
        orows, ofacts = read(opt["--openssl"])
        tables.append(("tlsfuzzer-openssl", openssl_table(rows, orows, ofacts, date)))
    if "--doc" not in opt:
        sys.stdout.write("\n".join(t for _, t in tables))
        return
    with open(opt["--doc"], encoding="utf-8") as f:
        page = f.read()
    for name, table in tables:
        page = splice(page, name, table)
    with open(opt["--doc"], "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
