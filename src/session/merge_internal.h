/*
 * merge_internal.h - the merge's state, shared by merge.c (the readers and
 * the row pipeline) and merge_plan.c (the plan checked against the
 * result's columns). Nothing outside these two files includes it.
 */
#ifndef MYSHARD_SESSION_MERGE_INTERNAL_H
#define MYSHARD_SESSION_MERGE_INTERNAL_H

#include "proto/binproto.h"
#include "proto/pktbuf.h"
#include "result/aggregate.h"
#include "result/column.h"
#include "result/oksum.h"
#include "result/row.h"
#include "result/sort.h"
#include "session/merge.h"

#define MERGE_MAX_PACKET  ((size_t)1 << 30) /* max_allowed_packet ceiling */
#define MERGE_MAX_COLUMNS 4096              /* MySQL's own limit */
#define ERR_MSG_MAX       512

enum src_phase {
    SP_HEADER = 0, /* first packet of a result: count, OK or ERR */
    SP_COLDEFS,
    SP_COLDEFS_EOF,
    SP_ROWS,
    SP_DONE, /* the response ended */
};

enum src_kind {
    SK_NONE = 0,
    SK_OK,
    SK_ERR,
    SK_RESULT,
};

/* What happens to the bytes of the packet being read. */
enum pk_mode {
    PK_NONE = 0, /* at a packet boundary */
    PK_COPY,     /* into buf */
    PK_DROP,     /* discarded */
    PK_PASS,     /* moved to the client */
};

struct msrc {
    struct evbuffer *in; /* the session's; NULL once the response ended */
    enum src_phase phase;
    enum src_kind kind;   /* of its (first) answer */
    bool decided;         /* its header is complete */
    bool extra;           /* draining results after the first */
    bool lost;            /* merge_fail_source() */
    uint64_t left;        /* definitions still to read */
    struct column_set cs; /* its columns (source 0 keeps the packets) */
    enum pk_mode pk;      /* the packet being read */
    uint32_t pkt_left;    /* payload bytes of the physical packet left */
    bool pkt_more;        /* another physical packet continues it */
    uint8_t *buf;         /* copied logical packet / the held row */
    size_t len, cap;      /* bytes in buf, allocated */
    bool held;            /* buf holds a parsed row waiting for the merge */
    struct binproto_value *vals; /* ncols values of the held row */
    size_t vis_len;              /* text: bytes of its visible columns */
    uint16_t hdr_status;         /* status of the EOF after the definitions */
    uint16_t end_status;         /* status of the final EOF */
};

/* A row handed down the pipeline. */
struct rowref {
    const uint8_t *p;               /* payload, NULL for a computed row */
    size_t len;                     /* payload bytes */
    const struct binproto_value *v; /* ncols values */
    size_t vis_len;                 /* text with p: visible prefix bytes */
};

enum merge_phase {
    MP_HEADERS = 0, /* waiting for every source's header */
    MP_ROWS,        /* result header sent: rows flow */
    MP_OK,          /* summed OK sent */
    MP_DONE,
    MP_BROKEN,
};

struct merge {
    struct merge_spec ms; /* copied plan */
    int n;                /* sources */
    enum merge_phase phase;
    uint8_t seq;     /* next client sequence id */
    size_t max_rows; /* in-memory bound */
    struct msrc src[ROUTE_MAX_SHARDS];

    /* The result's shape (from the first header; columns from source 0,
     * at MP_ROWS); shape.binary: binary-protocol rows. */
    struct row_shape shape;
    /* The merged rows' columns: shape's, with the aggregates retyped that
     * change type (DISTINCT ones); post-sort and HAVING read these. */
    struct column *ocols;
    struct row_shape oshape;
    uint32_t ncols;            /* 0 until a result header arrived */
    uint32_t visible;          /* ncols - nhidden */
    uint16_t *otypes;          /* output type words */
    bool seen_ok, seen_result; /* answer kinds so far */

    /* The plan, resolved. */
    bool fast;      /* rows pass through unchanged */
    bool in_memory; /* rows collect for a sort at the end */
    struct sort_key *mkeys, *gkeys;
    int nmkeys, ngkeys;

    /* Flow. */
    int pass_src;         /* source whose row is being passed, -1 */
    bool progress;        /* something moved in this round */
    uint64_t offset_left; /* rows still to skip */
    uint64_t emitted;     /* rows counted against LIMIT */
    uint64_t rows_out;    /* rows written */
    bool limit_done;      /* LIMIT reached: the rest is dropped */

    /* Failure. */
    bool failed, err_sent;
    uint16_t err_code;
    char err_state[6];
    char err_msg[ERR_MSG_MAX];
    int broken_src;
    bool client_cut;

    /* Summed OK and final status. */
    struct oksum ok;
    uint32_t eof_warnings;
    uint16_t status;

    /* Grouping. */
    bool grp_active;
    struct row_copy grp_first;
    struct aggs aggs;
    bool flushed_group;
    bool any_group; /* a group was started */

    /* Streaming DISTINCT. */
    bool have_prev;
    struct row_copy prev;

    /* In memory. */
    struct sort_buf sorted;

    struct binproto_value *scratch, *fin; /* ncols each */
    struct pktbuf pb;                     /* output builder */
};

/* Checks the plan against the result's columns (known once every source's
 * header arrived) and prepares the merge. False when they do not fit, with
 * the error's code and message in *code and msg. */
bool merge_plan_setup(struct merge *m, uint16_t *code, char *msg, size_t len);

#endif
