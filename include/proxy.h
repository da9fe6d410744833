/*
 * proxy.h - the top-level context: config generation, servers, workers,
 * signals; start, run, graceful stop.
 */
#ifndef MYSHARD_PROXY_H
#define MYSHARD_PROXY_H

struct cfg;

/* Runs the proxy with cfg (takes the reference) until SIGTERM/SIGINT.
 * Returns the process exit code: 0 clean shutdown, 1 runtime failure. */
int proxy_run(struct cfg *cfg, const char *cfg_path);

#endif
