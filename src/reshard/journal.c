/*
 * journal.c - the reshards' journal: one block of "key value" lines per
 * reshard, replaced whole (base/atomicfile.h), so a crash leaves the old
 * journal or the new one. Values are written with \\ and \n escaped;
 * unknown keys are an error (a newer myshard's journal is not guessed
 * at).
 */
#include "rs_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomicfile.h"
#include "base/util.h"

static void
put(FILE *f, const char *key, const char *v)
{
    fprintf(f, "%s ", key);
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
    fputc('\n', f);
}

static void
putll(FILE *f, const char *key, long long v)
{
    fprintf(f, "%s %lld\n", key, v);
}

bool
journal_write(const char *path, struct reshard *const *rs, int n, char *err,
              size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool ok;

    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    fprintf(f, "# myshard reshard journal: written by myshard, do not edit\n");
    for (int i = 0; i < n; i++) {
        const struct reshard *r = rs[i];
        fprintf(f, "\n");
        putll(f, "reshard", (long long)r->id);
        put(f, "rule", r->rule);
        put(f, "type", r->hash ? "hash" : "range");
        putll(f, "lo", r->lo);
        putll(f, "hi", r->hi);
        putll(f, "slots", r->slots);
        put(f, "at", r->at);
        put(f, "until", r->until);
        put(f, "from", r->from);
        put(f, "to", r->to);
        put(f, "phase", rs_phase_name(r->phase));
        put(f, "snapshot_gtid", r->snap_gtid);
        put(f, "applied_gtid", r->applied_gtid);
        putll(f, "copied", r->copied);
        putll(f, "total", r->total);
        putll(f, "cleaned", r->cleaned);
        putll(f, "copy_table", r->copy_table);
        put(f, "copy_last", r->copy_last);
        putll(f, "switched", r->switched);
        putll(f, "started", r->started);
        put(f, "error", r->error);
    }
    fclose(f);
    ok = file_write_atomic(path, text, len, err, errlen);
    free(text);
    return ok;
}

static void
unescape(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n') {
            *o++ = '\n';
            s++;
        } else if (*s == '\\' && s[1] == '\\') {
            *o++ = '\\';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

static enum rs_phase
phase_of(const char *s, bool *ok)
{
    for (int p = RS_COPY; p <= RS_FAILED; p++)
        if (strcmp(s, rs_phase_name((enum rs_phase)p)) == 0)
            return (enum rs_phase)p;
    *ok = false;
    return RS_FAILED;
}

#define STR(field)                                                             \
    else if (strcmp(key, #field) == 0)                                         \
        snprintf(r->field, sizeof(r->field), "%s", val)

bool
journal_read(const char *path, struct reshard ***out, int *n, char *err,
             size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int lineno = 0;
    struct reshard *r = NULL;

    *out = NULL;
    *n = 0;
    if (f == NULL) {
        if (errno == ENOENT)
            return true;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *key = line, *val;
        bool ok = true;
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        val = strchr(line, ' ');
        if (val == NULL) {
            val = line + strlen(line);
        } else {
            *val++ = '\0';
        }
        unescape(val);
        if (strcmp(key, "reshard") == 0) {
            r = xcalloc(1, sizeof(*r));
            r->id = strtoull(val, NULL, 10);
            *out = xrealloc(*out, (size_t)(*n + 1) * sizeof(**out));
            (*out)[(*n)++] = r;
            continue;
        }
        if (r == NULL) {
            ok = false;
        }
        STR(rule);
        STR(at);
        STR(until);
        STR(from);
        STR(to);
        STR(copy_last);
        STR(error);
        else if (strcmp(key, "snapshot_gtid") == 0)
            snprintf(r->snap_gtid, sizeof(r->snap_gtid), "%s", val);
        else if (strcmp(key, "applied_gtid") == 0)
            snprintf(r->applied_gtid, sizeof(r->applied_gtid), "%s", val);
        else if (strcmp(key, "type") == 0) r->hash = strcmp(val, "hash") == 0;
        else if (strcmp(key, "lo") == 0) r->lo =
            (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(key, "hi") == 0) r->hi =
            (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(key, "slots") == 0) r->slots =
            (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(key, "phase") == 0) r->phase = phase_of(val, &ok);
        else if (strcmp(key, "copied") == 0) r->copied = strtoll(val, NULL, 10);
        else if (strcmp(key, "total") == 0) r->total = strtoll(val, NULL, 10);
        else if (strcmp(key, "cleaned") == 0) r->cleaned =
            strtoll(val, NULL, 10);
        else if (strcmp(key, "copy_table") == 0) r->copy_table =
            (int)strtol(val, NULL, 10);
        else if (strcmp(key, "switched") == 0) r->switched = atoi(val) != 0;
        else if (strcmp(key, "started") == 0) r->started =
            strtoll(val, NULL, 10);
        else ok = false;
        if (!ok) {
            snprintf(err, errlen,
                     "%s:%d: cannot read '%s' in the reshard "
                     "journal",
                     path, lineno, key);
            fclose(f);
            for (int i = 0; i < *n; i++)
                free((*out)[i]);
            free(*out);
            *out = NULL;
            *n = 0;
            return false;
        }
    }
    fclose(f);
    return true;
}
