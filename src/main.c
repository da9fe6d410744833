/*
 * main.c - command line, exit codes and process limits:
 *   myshard [-c FILE] [--check] [--log-level LEVEL] [--version] [--help]
 * Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad config/arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "net/evmem.h"
#include "net/worker.h"
#include "proxy.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: myshard [-c FILE] [--check] [--log-level LEVEL] "
                 "[--version] [--help]\n"
                 "  -c, --config FILE   config file (default "
                 "/etc/myshard/myshard.yaml, then conf/myshard.yaml)\n"
                 "      --check         validate the config, print a summary, "
                 "exit 0 (valid) or 2\n"
                 "      --log-level L   error, warn, info (default) or debug\n"
                 "      --version       print the version\n");
}

/* Many clients each need a descriptor: take the hard limit. */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot raise the open files limit");
    }
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool check = false;
    struct diag d;
    struct cfg *cfg;
    int c;

    evmem_install(); /* before libevent allocates anything */
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'l':
            if (!log_level_parse(optarg, &log_current_level)) {
                fprintf(stderr, "myshard: unknown log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'v':
            printf("myshard %s\n", MYSHARD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "myshard: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (path == NULL)
        path = access("/etc/myshard/myshard.yaml", R_OK) == 0
                   ? "/etc/myshard/myshard.yaml"
                   : "conf/myshard.yaml";

    diag_init(&d);
    cfg = cfg_load(path, &d);
    if (cfg != NULL && !proxy_tls_build(cfg, &d)) {
        cfg_put(cfg);
        cfg = NULL;
    }
    diag_print(&d, stderr);
    if (cfg == NULL) {
        fprintf(stderr, "myshard: %zu error(s) in %s; nothing started\n",
                d.errors, path);
        diag_free(&d);
        return 2;
    }
    diag_free(&d);
    if (check) {
        /* A warning only: the port is normally taken by the running proxy
         * whose next config is being checked. */
        if (!net_port_free(cfg->listen.host, cfg->listen.port))
            fprintf(stderr,
                    "%s:%d:%d: warning: listen address %s is in use; a new "
                    "myshard would not start while it is\n",
                    path, cfg->listen.mark.line, cfg->listen.mark.col,
                    cfg->listen.text);
        cfg_print_summary(cfg, stdout);
        printf("%s: OK\n", path);
        cfg_put(cfg);
        return 0;
    }
    log_set_format((enum log_format)cfg->log_format); /* reloads set it too */
    raise_nofile();
    return proxy_run(cfg, path);
}
