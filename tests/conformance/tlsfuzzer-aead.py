# tlsfuzzer-aead.py SCRIPT ARGS... -- run a tlsfuzzer script with its hard-coded CBC suites
# replaced by the AEAD suite of the same key exchange and authentication.
#
# Many tlsfuzzer scripts test things that have nothing to do with the record cipher (extensions,
# ClientHello parsing, message order, resumption, signature algorithms) but name a CBC suite in
# their source and have no -C option.  mtls has no CBC suites (docs/NOT-SUPPORTED.md), so those
# scripts cannot complete a single handshake with it.  Before the script is loaded, this rebinds
# the CipherSuite.TLS_*_CBC_* names the scripts use to the matching GCM suite, so every probe
# offers what mtls speaks while the probe logic stays tlsfuzzer's own.  tlslite-ng itself is not
# changed: its suite tables keep their values, so the remapped number is handled as the GCM suite
# it is.  Probes that only make sense with CBC (padding, MAC, Encrypt-then-MAC) are not run this
# way: they are left out of tests/conformance/tlsfuzzer.list.  DHE suites are left alone; mtls
# refuses them and picks the ECDHE or RSA suite offered beside them.
#
# tlsfuzzer.test.sh runs a list line through this file when its SCRIPT is written aead:SCRIPT.
import runpy
import sys

from tlslite.constants import CipherSuite as C

REMAP = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": C.TLS_RSA_WITH_AES_128_GCM_SHA256,
    "TLS_RSA_WITH_AES_128_CBC_SHA256": C.TLS_RSA_WITH_AES_128_GCM_SHA256,
    "TLS_RSA_WITH_AES_256_CBC_SHA": C.TLS_RSA_WITH_AES_256_GCM_SHA384,
    "TLS_RSA_WITH_AES_256_CBC_SHA256": C.TLS_RSA_WITH_AES_256_GCM_SHA384,
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tlsfuzzer-aead.py SCRIPT [ARGS...]")
    for name, value in REMAP.items():
        setattr(C, name, value)
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
