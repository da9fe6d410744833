/*
 * gtid.h - MariaDB global transaction ids as text: one GTID
 * "domain-server-seqno" (what a write's last_gtid says) and a position,
 * a comma-separated list of them, one per replication domain (what a
 * replica's gtid_slave_pos says). Within a domain seqnos only grow, so a
 * position covers a write when its seqno in the write's domain is at least
 * the write's; the server id part names who wrote it and does not order.
 * Pure parsers: no allocation.
 */
#ifndef MYSHARD_BASE_GTID_H
#define MYSHARD_BASE_GTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct gtid {
    uint32_t domain;
    uint32_t server;
    uint64_t seqno;
};

/* Reads one GTID from p[0..len) (no spaces). False when malformed. */
MUST_CHECK bool gtid_parse(const char *p, size_t len, struct gtid *g);

/*
 * Reads a position: GTIDs separated by commas (spaces and newlines around
 * them allowed; an empty text is an empty position). Fills out[0..max)
 * and returns how many, or -1 when malformed or there are more than max.
 */
int gtid_parse_list(const char *p, size_t len, struct gtid *out, int max);

/* Writes "d-s-n" into buf (NUL-terminated, truncated to size). */
void gtid_format(const struct gtid *g, char *buf, size_t size);

/* Most domains a position passed to gtid_pos_covers may hold. */
#define GTID_POS_MAX 64

/*
 * Whether position `have` covers position `want` (NUL-terminated texts):
 * for every domain of want, have holds that domain with a seqno at least
 * want's. An empty want is covered by anything; a domain missing from have
 * is not covered. False when either text is malformed or has more than
 * GTID_POS_MAX domains (callers wait or fail closed on false).
 */
bool gtid_pos_covers(const char *have, const char *want);

#endif
