"""aead.py -- run a tlsfuzzer script that offers only CBC suites against mtls, which has none.

    python3 aead.py scripts/test-NAME.py ARGS...

Many tlsfuzzer scripts hard-code TLS_RSA_WITH_AES_128_CBC_SHA (or its ECDHE_RSA / ECDHE_ECDSA
twin) and take no -C option.  What they probe -- hello sizes, extension parsing, SNI, ALPN -- does
not depend on the record cipher, so before the script runs, each of those CBC suites is replaced by
the AES-128-GCM suite with the same key exchange and authentication (tlslite-ng speaks both).
Nothing else changes: the probes, their expectations and -x/-X work as upstream.
"""
import runpy
import sys

from tlslite.constants import CipherSuite

for kx in ("RSA", "ECDHE_RSA", "ECDHE_ECDSA"):
    setattr(CipherSuite, "TLS_%s_WITH_AES_128_CBC_SHA" % kx,
            getattr(CipherSuite, "TLS_%s_WITH_AES_128_GCM_SHA256" % kx))

script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
