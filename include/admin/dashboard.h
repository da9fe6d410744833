/*
 * dashboard.h - the live dashboard on admin.http: GET / is one
 * self-contained HTML page (src/admin/dashboard.html, compiled in) that
 * polls GET /status and GET /status/history (admin/history.h) and draws
 * them; it loads nothing from anywhere else.
 */
#ifndef MYSHARD_ADMIN_DASHBOARD_H
#define MYSHARD_ADMIN_DASHBOARD_H

#include <stdbool.h>

struct history;
struct http_reply;

/*
 * Answers the dashboard's own paths: "/" (the page, text/html, with a
 * Content-Security-Policy that lets it run its one inline script and style
 * and fetch from its own origin only) and "/status/history" (h's JSON).
 * false, r untouched, for any other path.
 */
bool dashboard_http_reply(const struct history *h, const char *path,
                          struct http_reply *r);

#endif
