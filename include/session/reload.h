/*
 * reload.h - a worker's switch to another config generation, at start and
 * on RELOAD CONFIG / SIGHUP.
 */
#ifndef MYSHARD_SESSION_RELOAD_H
#define MYSHARD_SESSION_RELOAD_H

#include "session/session_types.h"

struct cfg;

/*
 * Makes the worker use cfg: takes a reference to it, rebuilds what is
 * derived from it (backend_schema renames), points the pools at it
 * (pool_set_cfg), remaps every session's user and schema by name, and drops
 * the reference to the generation in use before (none at start). Runs on
 * the worker's thread, between events (from its inbox, or before the
 * worker starts). Pre-condition: cfg names the same shards, in the same
 * order, as the generation in use (the server set is fixed at start).
 * Sessions whose user cfg no longer has are closed: idle ones now, busy
 * ones when the statement in flight ends; each gets a log line.
 */
void reload_use_cfg(struct wctx *wc, struct cfg *cfg);

#endif
