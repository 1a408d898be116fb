/*
 * dkim_tool.h -- the DKIM modes of the postseal binary: --dkim-keygen and
 * --dkim-verify.  (--dkim-sign prepares a message as a submission does, so
 * it lives in submit.c.)  Each returns 0, or -1 with e
 * filled; main.c turns e into the exit status.
 */
#ifndef POSTSEAL_DKIM_TOOL_H
#define POSTSEAL_DKIM_TOOL_H

#include "cli.h"
#include "config.h"
#include "err.h"

/*
 * --dkim-keygen --type rsa|ed25519 [--bits N] --domain D --selector S
 * --out FILE: write a new private key to FILE (created with mode 0600; an
 * existing file is never overwritten: ERR_CANTCREAT) and print the DNS TXT
 * record to publish on stdout, in zone-file form, split into strings of at
 * most 255 bytes.  rsa defaults to 2048 bits (1024 to 4096).  Missing or
 * bad arguments: ERR_USAGE.
 */
int dkim_tool_keygen(const struct opts *o, struct err *e);

/*
 * --dkim-verify [--dns-record NAME=FILE ...] [--dkim-time T]: verify every
 * DKIM-Signature of the message on stdin and print one line per signature
 * ("signature N: pass d=... s=... a=..." or "signature N: fail ...: why").
 * Keys come from the given records (FILE holds the TXT text, plain or as
 * --dkim-keygen prints it; no live DNS then) or else from DNS.  ERR_DATA
 * when a signature fails or there is none, after printing the lines.
 */
int dkim_tool_verify(const struct opts *o, struct err *e);

#endif
