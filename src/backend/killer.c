/*
 * killer.c - see killer.h. A kill is a fresh libmariadb connection (short
 * timeouts), one statement, and close: rare enough that keeping
 * connections open for it would cost more than it saves.
 */
#include "backend/killer.h"

#include <mysql.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/mysqltls.h"
#include "backend/server.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg_types.h"

struct kill_req {
    char host[256];
    uint16_t port;
    char addr[280];
    char user[128];
    char password[256];
    struct mysqltls tls;
    uint32_t thread_id;
    struct kill_req *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct kill_req *head, *tail;
static bool running, stopping;
static pthread_t tid;

static void
kill_one(const struct kill_req *k)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 2;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    char sql[64];

    if (m == NULL)
        return;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    mysqltls_apply(m, &k->tls);
    snprintf(sql, sizeof(sql), "KILL QUERY %u", k->thread_id);
    if (mysql_real_connect(m, k->host, k->user, k->password, NULL, k->port,
                           NULL, 0) == NULL ||
        mysql_query(m, sql) != 0)
        log_warn("KILL QUERY failed backend=%s thread_id=%u error=\"%s\"",
                 k->addr, k->thread_id, mysql_error(m));
    else
        log_info("statement killed (query_timeout) backend=%s thread_id=%u",
                 k->addr, k->thread_id);
    mysql_close(m);
}

static void *
run(void *arg)
{
    (void)arg;
    mysql_thread_init();
    pthread_mutex_lock(&mu);
    for (;;) {
        struct kill_req *k;
        while (head == NULL && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (stopping)
            break;
        k = head;
        head = k->next;
        if (head == NULL)
            tail = NULL;
        pthread_mutex_unlock(&mu);
        kill_one(k);
        free(k);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    mysql_thread_end();
    return NULL;
}

void
killer_start(void)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        stopping = false;
        running = pthread_create(&tid, NULL, run, NULL) == 0;
    }
    pthread_mutex_unlock(&mu);
}

void
killer_kill(const struct server *srv, uint32_t thread_id,
            const struct cfg_backend *be)
{
    const char *user = be->user, *password = be->password;

    struct kill_req *k = xcalloc(1, sizeof(*k));

    snprintf(k->host, sizeof(k->host), "%s", srv->host);
    k->port = srv->port;
    snprintf(k->addr, sizeof(k->addr), "%s", srv->addr);
    snprintf(k->user, sizeof(k->user), "%s", user);
    snprintf(k->password, sizeof(k->password), "%s", password ? password : "");
    mysqltls_from(&k->tls, &be->tls);
    k->thread_id = thread_id;
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        free(k);
        return;
    }
    if (tail)
        tail->next = k;
    else
        head = k;
    tail = k;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void
killer_stop(void)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        return;
    }
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(tid, NULL);
    pthread_mutex_lock(&mu);
    while (head) {
        struct kill_req *k = head;
        head = k->next;
        free(k);
    }
    tail = NULL;
    running = false;
    pthread_mutex_unlock(&mu);
}
