/*
 * oksum.c - OK packets of several shards summed (see oksum.h). The info
 * text is split into a skeleton of words, each number replaced by '\1',
 * and the numbers; equal skeletons sum their numbers.
 */
#include "result/oksum.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "proto/mysql_defs.h"
#include "proto/reply.h"

/* Splits info into words and numbers; equal word skeletons sum. */
static void
info_add(struct oksum *os, const uint8_t *s, size_t len)
{
    char skel[OKSUM_INFO_MAX];
    uint64_t nums[OKSUM_INFO_NUMS];
    size_t k = 0;
    int nn = 0;

    if (os->info_bad)
        return;
    for (size_t i = 0; i < len;) {
        if (s[i] >= '0' && s[i] <= '9') {
            uint64_t v = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                v = v * 10 + (uint64_t)(s[i++] - '0');
            if (nn == OKSUM_INFO_NUMS || k + 1 >= sizeof(skel))
                goto bad;
            nums[nn++] = v;
            skel[k++] = '\1';
        } else {
            if (k + 1 >= sizeof(skel) || s[i] == '\1')
                goto bad;
            skel[k++] = (char)s[i++];
        }
    }
    skel[k] = '\0';
    if (!os->info_set) {
        memcpy(os->info_skel, skel, k + 1);
        memcpy(os->info_nums, nums, sizeof(nums[0]) * (size_t)nn);
        os->info_n = nn;
        os->info_set = true;
        return;
    }
    if (nn != os->info_n || strcmp(skel, os->info_skel) != 0)
        goto bad;
    for (int i = 0; i < nn; i++)
        os->info_nums[i] += nums[i];
    return;
bad:
    os->info_bad = true;
}

void
oksum_info(const struct oksum *os, char *out, size_t cap)
{
    size_t k = 0;
    int ni = 0;

    out[0] = '\0';
    if (!os->info_set || os->info_bad)
        return;
    for (const char *p = os->info_skel; *p && k + 24 < cap; p++) {
        if (*p == '\1')
            k += (size_t)snprintf(out + k, cap - k, "%" PRIu64,
                                  os->info_nums[ni++]);
        else
            out[k++] = *p;
    }
    out[k] = '\0';
}

void
oksum_add(struct oksum *os, const struct reply_ok *ok)
{
    os->affected += ok->affected;
    os->insert_id = MAX(os->insert_id, ok->insert_id);
    os->warnings += ok->warnings;
    os->status = ok->status & ~SERVER_MORE_RESULTS_EXISTS;
    info_add(os, ok->info, ok->info_len);
}
