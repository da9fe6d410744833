/*
 * oksum.h - several shards' OK packets summed into the one OK the client
 * gets: affected rows and warnings summed, last insert id the largest of
 * the shards' (0 when none generated one: ids from several shards'
 * auto-increments have no single "first"), status of the last OK added,
 * and the info text kept when every shard's has the same words, its
 * numbers summed ("Rows matched: 5  Changed: 3  Warnings: 0").
 */
#ifndef MYSHARD_RESULT_OKSUM_H
#define MYSHARD_RESULT_OKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OKSUM_INFO_MAX  256 /* longest info text summed */
#define OKSUM_INFO_NUMS 8   /* numbers in it */

struct reply_ok;

struct oksum {
    uint64_t affected, insert_id;
    uint32_t warnings;
    uint16_t status;                /* of the last OK added */
    char info_skel[OKSUM_INFO_MAX]; /* info with each number as '\1' */
    uint64_t info_nums[OKSUM_INFO_NUMS];
    int info_n;
    bool info_set; /* some info was added */
    bool info_bad; /* the infos differ: none is sent */
};

/* Adds one shard's OK (status without SERVER_MORE_RESULTS_EXISTS). */
void oksum_add(struct oksum *os, const struct reply_ok *ok);

/* The summed info text into out (cap bytes; "" when there is none). */
void oksum_info(const struct oksum *os, char *out, size_t cap);

#endif
