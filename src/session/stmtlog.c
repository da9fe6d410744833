/*
 * stmtlog.c - owns the fields every log line about a running statement
 * carries: the client's id, user and schema, how long the statement has
 * run and its digest (raw here: base/logfmt.c escapes them per format).
 */
#include "session/stmtlog.h"

#include "base/clock.h"
#include "base/util.h"
#include "cfg/cfg.h"
#include "session/digests.h"
#include "session/session.h"

void
stmtlog_event(struct session *s, enum log_level lvl, const char *msg,
              const struct log_field *extra, size_t n)
{
    const struct cfg *c = s->wc->cfg;
    struct log_field f[3 + 8 + 2] = {
        LOG_NUM("client", s->id),
        LOG_STR("user", s->user >= 0 ? c->users[s->user].name : NULL),
        LOG_STR("schema", s->schema >= 0 ? c->schemas[s->schema].name : NULL),
    };
    const char *digest = digests_text(&s->wc->digests, s->digest_slot);
    size_t k = 3;

    if (lvl > log_current_level)
        return;
    for (size_t i = 0; i < n && i < 8; i++)
        f[k++] = extra[i];
    f[k++] = (struct log_field)LOG_NUM("duration_ms",
                                       (clock_us() - s->cmd_started_us) / 1000);
    f[k++] =
        (struct log_field)LOG_STR("digest", digest[0] != '\0' ? digest : NULL);
    log_event(lvl, msg, f, k);
}
