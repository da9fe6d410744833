/*
 * dashboard.c - see dashboard.h. The page's bytes and its CSP come from
 * dashboard_page.h, which the build generates from dashboard.html
 * (embed_page.py); this file only routes.
 */
#include "admin/dashboard.h"

#include <event2/buffer.h>
#include <string.h>

#include "admin/history.h"
#include "admin/metrics.h"
#include "dashboard_page.h"
#include "net/http.h"

bool
dashboard_http_reply(const struct history *h, const char *path,
                     struct http_reply *r)
{
    if (strcmp(path, "/") == 0) {
        r->status = 200;
        r->content_type = "text/html; charset=utf-8";
        r->headers = "Content-Security-Policy: " DASHBOARD_CSP "\r\n"
                     "X-Frame-Options: DENY\r\n"
                     "Referrer-Policy: no-referrer\r\n";
        evbuffer_add(r->body, dashboard_page, DASHBOARD_PAGE_LEN);
        return true;
    }
    if (strcmp(path, "/status/history") == 0) {
        r->status = 200;
        r->content_type = METRICS_JSON_TYPE;
        history_render_json(h, r->body);
        return true;
    }
    return false;
}
