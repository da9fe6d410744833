/*
 * proxy.h - the top-level context: config generation, servers, workers,
 * signals; start, run, graceful stop.
 */
#ifndef MYSHARD_PROXY_H
#define MYSHARD_PROXY_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct diag;
struct proxy;

/* Builds the generation's TLS contexts (tls: for clients, backend.tls for
 * the servers) from the files it names, each failure a diagnostic at that
 * key's file:line:col. At start, --check and every reload (so certificates
 * are re-read). false when any file is bad. */
bool proxy_tls_build(struct cfg *c, struct diag *d);

/* Runs the proxy with cfg (takes the reference) until SIGTERM/SIGINT.
 * Returns the process exit code: 0 clean shutdown, 1 runtime failure. */
int proxy_run(struct cfg *cfg, const char *cfg_path);

/*
 * Re-reads the config file and applies it live (SIGHUP, RELOAD CONFIG).
 * From any thread but a worker's; one reload runs at a time, and it waits
 * (bounded) for the workers to switch. Writes what happened into msg (when
 * msglen > 0, always NUL-terminated) and logs it:
 *   false: nothing changed - the file's problems, each file:line:col, joined
 *          by "; " (every one is logged); a changed shard list; shutdown.
 *   true:  "reloaded PATH: applied users, ...", "...: no changes", with
 *          "; needs a restart: listen, workers" for the keys that cannot
 *          change while running (their running values stay).
 */
bool proxy_reload(struct proxy *px, char *msg, size_t msglen);
/* The same with the signature of admin_view.reload (arg: the proxy). */
bool proxy_reload_cb(void *arg, char *msg, size_t msglen);
/* The running generation with a reference taken (the caller puts it); the
 * signature of admin_view.cfg_get (arg: the proxy). Thread-safe. */
struct cfg *proxy_cfg_get(void *arg);

#endif
