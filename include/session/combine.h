/*
 * combine.h - the one OK a client gets for a statement that ran on several
 * shards without rows (a write, DDL): affected rows summed (or the first
 * shard's, for a global table's copies), the first id a shard generated,
 * warnings summed and the info text with its numbers summed ("Rows
 * matched: 3  Changed: 3  Warnings: 0") when every shard's has the same
 * words.
 */
#ifndef MYSHARD_SESSION_COMBINE_H
#define MYSHARD_SESSION_COMBINE_H

struct eng_run;

/* Writes r's combined OK to its session's client (r->mode EC_COMBINE,
 * every target answered, r->affected and r->status summed by the engine);
 * sets r->insert_id. */
void combine_write_ok(struct eng_run *r);

#endif
