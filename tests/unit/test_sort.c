/*
 * test_sort.c - result/sort.c: rows compared by key lists (ASC/DESC, NULL
 * least, ties broken by later keys), and the in-memory sort: rows out in
 * key order, DISTINCT over the visible columns, the LIMIT cut (offset +
 * limit kept while rows keep coming), the max_rows bound, and rows that do
 * not decode.
 */
#include "result/sort.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "result/row.h"

#include "coldef_helper.h"

static struct column cols[2];
static struct row_shape rs = {.cols = cols, .ncols = 2, .visible = 2};
static struct binproto_value scratch[2];

static void
setup(void)
{
    cols[0] = make_column(MYSQL_TYPE_LONG, 63, 0, 0);
    cols[1] = make_column(MYSQL_TYPE_VAR_STRING, 45, 0, 0);
}

static struct binproto_value
txt(const char *s)
{
    struct binproto_value v = {0};

    if (s == NULL) {
        v.is_null = true;
    } else {
        v.str = (const uint8_t *)s;
        v.len = strlen(s);
    }
    return v;
}

START_TEST(test_keys_cmp)
{
    struct sort_key asc[2] = {{.col = 0, .pos = 0}, {.col = 1, .pos = 1}};
    struct sort_key desc[1] = {{.col = 0, .pos = 0, .desc = true}};
    struct binproto_value a[2] = {txt("2"), txt("x")};
    struct binproto_value b[2] = {txt("10"), txt("a")};
    struct binproto_value c[2] = {txt("2"), txt("X")};
    struct binproto_value n[2] = {txt(NULL), txt("z")};

    ck_assert_int_eq(sort_keys_cmp(&rs, asc, 2, a, b), -1);
    ck_assert_int_eq(sort_keys_cmp(&rs, desc, 1, a, b), 1);
    ck_assert_int_eq(sort_keys_cmp(&rs, asc, 2, a, c), 0); /* ci */
    ck_assert_int_eq(sort_keys_cmp(&rs, asc, 2, n, a), -1);
    ck_assert_int_eq(sort_keys_cmp(&rs, desc, 1, n, a), 1);
    ck_assert(sort_keys_has(asc, 2, 1));
    ck_assert(!sort_keys_has(desc, 1, 1));
}
END_TEST

/* Adds the text row (id, name) to sb. */
static enum sort_status
add(struct sort_buf *sb, const char *id, const char *name)
{
    struct binproto_value v[2] = {txt(id), txt(name)};
    struct pktbuf pb;
    enum sort_status st;

    pktbuf_init(&pb);
    ck_assert(row_encode(&rs, &pb, v, 2));
    st = sort_add(sb, pb.buf, pb.len, NULL, scratch);
    pktbuf_free(&pb);
    return st;
}

/* The rows left, in order, as "id:name id:name". */
static void
drain(struct sort_buf *sb, char *out, size_t cap)
{
    const struct sort_row *r;
    size_t k = 0;

    out[0] = '\0';
    sort_finish(sb);
    while ((r = sort_peek(sb)) != NULL) {
        struct binproto_value v[2];
        size_t vis;
        ck_assert(row_parse(&rs, NULL, r->p, r->len, v, &vis));
        k += (size_t)snprintf(out + k, cap - k, "%s%.*s:%.*s", k ? " " : "",
                              (int)v[0].len, (const char *)v[0].str,
                              (int)v[1].len, (const char *)v[1].str);
        sort_pop(sb);
    }
}

START_TEST(test_sorts_desc_then_asc)
{
    struct sort_key keys[2] = {{.col = 1, .desc = true}, {.col = 0}};
    struct sort_buf sb;
    char out[256];

    sort_init(&sb, &rs, keys, 2, false, UINT64_MAX, 100);
    ck_assert_int_eq(add(&sb, "3", "b"), SORT_OK);
    ck_assert_int_eq(add(&sb, "1", "c"), SORT_OK);
    ck_assert_int_eq(add(&sb, "2", "B"), SORT_OK);
    ck_assert_int_eq(add(&sb, "10", "a"), SORT_OK);
    drain(&sb, out, sizeof(out));
    ck_assert_str_eq(out, "1:c 2:B 3:b 10:a");
    sort_free(&sb);
}
END_TEST

START_TEST(test_distinct)
{
    struct sort_key keys[2] = {{.col = 1}};
    int n = 1;
    struct sort_buf sb;
    char out[256];

    sort_keys_add_visible(keys, &n, 2);
    ck_assert_int_eq(n, 2);
    sort_init(&sb, &rs, keys, n, true, UINT64_MAX, 100);
    ck_assert_int_eq(add(&sb, "1", "a"), SORT_OK);
    ck_assert_int_eq(add(&sb, "1", "A"), SORT_OK); /* equal under ci */
    ck_assert_int_eq(add(&sb, "2", "a"), SORT_OK);
    ck_assert_int_eq(add(&sb, "1", "a "), SORT_OK); /* PAD SPACE */
    drain(&sb, out, sizeof(out));
    ck_assert_str_eq(out, "1:a 2:a");
    sort_free(&sb);
}
END_TEST

START_TEST(test_limit_cut_and_bound)
{
    struct sort_key keys[1] = {{.col = 0}};
    struct sort_buf sb;
    char id[16], out[256];

    /* keep 3 of 10000 rows: held rows never pass the pruning point */
    sort_init(&sb, &rs, keys, 1, false, 3, 100000);
    for (int i = 10000; i > 0; i--) {
        snprintf(id, sizeof(id), "%d", i);
        ck_assert_int_eq(add(&sb, id, "x"), SORT_OK);
        ck_assert_uint_le(sb.n, SORT_PRUNE_MIN);
    }
    drain(&sb, out, sizeof(out));
    ck_assert_str_eq(out, "1:x 2:x 3:x");
    sort_free(&sb);

    /* no LIMIT: the bound is an error */
    sort_init(&sb, &rs, keys, 1, false, UINT64_MAX, 2);
    ck_assert_int_eq(add(&sb, "1", "x"), SORT_OK);
    ck_assert_int_eq(add(&sb, "2", "x"), SORT_OK);
    ck_assert(!sort_room(&sb));
    ck_assert_int_eq(add(&sb, "3", "x"), SORT_FULL);
    sort_clear(&sb);
    ck_assert_ptr_null(sort_peek(&sb));
    ck_assert(sort_room(&sb));
    sort_free(&sb);
}
END_TEST

START_TEST(test_bad_row)
{
    struct sort_key keys[1] = {{.col = 0}};
    struct sort_buf sb;
    const uint8_t bad[] = {5, 'a'};

    sort_init(&sb, &rs, keys, 1, false, UINT64_MAX, 10);
    ck_assert_int_eq(sort_add(&sb, bad, sizeof(bad), NULL, scratch),
                     SORT_BAD_ROW);
    ck_assert_uint_eq(sb.n, 0);
    sort_finish(&sb); /* nothing held: nothing to sort */
    ck_assert_ptr_null(sort_peek(&sb));
    sort_free(&sb);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sort");
    TCase *tc = tcase_create("sort");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_keys_cmp);
    tcase_add_test(tc, test_sorts_desc_then_asc);
    tcase_add_test(tc, test_distinct);
    tcase_add_test(tc, test_limit_cut_and_bound);
    tcase_add_test(tc, test_bad_row);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
