/*
 * main.c -- the `mtls` command: dispatch to a subcommand, global help and version.
 *
 * It owns only the command table and the top-level usage text.  Each subcommand parses its own
 * options and prints its own --help; all of them exit 0 on success, 1 when a connection or TLS
 * step failed, and 2 for a usage or local setup mistake.
 */
#include "tool.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: mtls COMMAND [options]\n"
    "\n"
    "mtls speaks TLS 1.3 and 1.2 with mutual authentication.  Commands:\n"
    "\n"
    "  demo      make throwaway certificates and show traced mutual-TLS sessions,\n"
    "            TLS 1.3 then TLS 1.2, and how they differ\n"
    "  client    connect to a TLS server; copy stdin to it and its answers to stdout\n"
    "  server    serve TLS clients (echo or a small HTTP page), many at once\n"
    "  version   print the version\n"
    "\n"
    "'mtls COMMAND --help' tells more; 'man mtls' or docs/TOOL.md tells all.\n"
    "\n"
    "examples:\n"
    "  mtls demo\n"
    "  mtls server --listen 127.0.0.1:4433 --cert server.pem --key server.key --http\n"
    "  mtls client localhost:4433 --ca ca.pem --trace\n";

int main(int argc, char **argv)
{
    /* A peer that goes away must be an error we report, not a signal that kills us. */
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "client") == 0) {
        return cmd_client(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "server") == 0) {
        return cmd_server(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "demo") == 0) {
        return cmd_demo(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("mtls %s (TLS 1.3, TLS 1.2)\n", MTLS_VERSION_STRING);
        return EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    say("unknown command '%s'; commands are demo, client, server, version (see 'mtls --help')",
        cmd);
    return EXIT_USAGE;
}
