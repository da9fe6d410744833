/*
 * classify_txn.c - transaction control: BEGIN [WORK] (and BEGIN NOT ATOMIC,
 * which is a compound statement), START TRANSACTION with its
 * characteristics, COMMIT / ROLLBACK [TO SAVEPOINT] with CHAIN / RELEASE,
 * and XA with its xid and ONE PHASE. The effects go to stmt_info.txn / .xa.
 */
#include "classify_internal.h"

/* [AND [NO] CHAIN] [[NO] RELEASE] */
static void
parse_chain_release(struct parser *p)
{
    struct stmt_info *st = p->st;

    if (parser_accept(p, KW_AND)) {
        if (parser_accept(p, KW_NO)) {
            parser_accept(p, KW_CHAIN);
        } else if (parser_accept(p, KW_CHAIN)) {
            st->txn |= TXN_CHAIN;
        }
    }
    if (parser_accept(p, KW_NO)) {
        parser_accept(p, KW_RELEASE);
    } else if (parser_accept(p, KW_RELEASE)) {
        st->txn |= TXN_RELEASE;
    }
}

uint8_t
parse_begin(struct parser *p)
{
    const struct token *n = parser_peek(p);

    if (n->type == TOK_IDENT && n->kw == KW_NOT) {
        /* BEGIN NOT ATOMIC ... END: an anonymous compound statement */
        p->swallow = true;
        p->st->flags |= SQLF_COMPOUND;
        return STMT_OTHER;
    }
    parser_next(p);
    parser_accept(p, KW_WORK);
    p->st->txn |= TXN_BEGIN | TXN_IMPLICIT_COMMIT;
    return STMT_BEGIN;
}

uint8_t
parse_start(struct parser *p)
{
    struct stmt_info *st = p->st;

    parser_next(p); /* START */
    if (!parser_accept(p, KW_TRANSACTION))
        return STMT_ADMIN; /* START SLAVE / REPLICA / GROUP_REPLICATION */
    st->txn |= TXN_BEGIN | TXN_IMPLICIT_COMMIT;
    for (;;) {
        if (parser_accept(p, KW_READ)) {
            if (tok_is(&p->t, "ONLY")) {
                st->txn |= TXN_READ_ONLY;
                parser_next(p);
            } else if (parser_accept(p, KW_WRITE)) {
                st->txn |= TXN_READ_WRITE;
            }
        } else if (parser_accept(p, KW_WITH)) {
            parser_accept(p, KW_CONSISTENT);
            parser_accept(p, KW_SNAPSHOT);
            st->txn |= TXN_SNAPSHOT;
        } else if (p->t.type == TOK_COMMA) {
            parser_next(p);
        } else {
            break;
        }
    }
    return STMT_BEGIN;
}

uint8_t
parse_commit(struct parser *p)
{
    parser_next(p);
    parser_accept(p, KW_WORK);
    p->st->txn |= TXN_COMMIT;
    parse_chain_release(p);
    return STMT_COMMIT;
}

uint8_t
parse_rollback(struct parser *p)
{
    struct stmt_info *st = p->st;

    parser_next(p);
    parser_accept(p, KW_WORK);
    if (parser_accept(p, KW_TO)) {
        parser_accept(p, KW_SAVEPOINT);
        st->flags |= SQLF_TO_SAVEPOINT;
        if (!parser_at_end(p)) {
            st->object = span_tok(&p->t);
            parser_next(p);
        }
        return STMT_ROLLBACK;
    }
    st->txn |= TXN_ROLLBACK;
    parse_chain_release(p);
    return STMT_ROLLBACK;
}

uint8_t
parse_xa(struct parser *p)
{
    struct stmt_info *st = p->st;
    const char *s;

    parser_next(p); /* XA */
    switch (p->t.kw) {
    case KW_START:
    case KW_BEGIN:
        st->xa = XA_START;
        break;
    case KW_END:
        st->xa = XA_END;
        break;
    case KW_PREPARE:
        st->xa = XA_PREPARE;
        break;
    case KW_COMMIT:
        st->xa = XA_COMMIT;
        break;
    case KW_ROLLBACK:
        st->xa = XA_ROLLBACK;
        break;
    case KW_RECOVER:
        st->xa = XA_RECOVER;
        break;
    default:
        return STMT_XA;
    }
    parser_next(p);
    if (st->xa == XA_RECOVER)
        return STMT_XA;
    s = p->t.p;
    while (!parser_at_end(p) && !parser_is(p, KW_JOIN) &&
           !parser_is(p, KW_RESUME) && !parser_is(p, KW_ONE) &&
           !tok_is(&p->t, "SUSPEND"))
        parser_next(p);
    st->object = span_of(s, p->last_end);
    if (parser_accept(p, KW_ONE)) {
        parser_accept(p, KW_PHASE);
        st->flags |= SQLF_ONE_PHASE;
    }
    return STMT_XA;
}
