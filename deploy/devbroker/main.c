/*
 * ql-devbroker: a throwaway Kafka cluster for the demo and the tests.  It runs
 * librdkafka's in-memory mock cluster, which speaks the real Kafka protocol on
 * loopback ports to client processes (idempotent producers, consumer groups
 * with offset commits), pre-creates the results and dead-letter topics,
 * prints the bootstrap list as the first line on stdout and serves until
 * SIGTERM or SIGINT.  Nothing is durable.  Tests inject faults through a
 * line-oriented control channel -- stdin, and a Unix socket with --control --
 * taking brokers down, slowing them, pushing request errors per API and moving
 * partition leaders and coordinators; every command is answered with "ok" or
 * "error: ..." on the channel it came from.  Never for production: the compose
 * file runs real Kafka.
 *
 * This file is the program: options, signals, start, serve, stop.  The
 * cluster is in db_cluster.c, the control channel in db_control.c, the
 * commands in db_commands.c (devbroker.h links them).
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "devbroker.h"
#include "ql_log.h"

static volatile sig_atomic_t run = 1;

static void on_signal(int sig)
{
        (void)sig;
        run = 0;
}

/* ------------------------------------------------------------------- main */

static void db_usage(FILE *out)
{
        fprintf(out,
                "Usage: " DB_PROG " [OPTION]...\n"
                "A Kafka cluster for the demo and the tests: librdkafka's "
                "in-memory mock\ncluster serving the Kafka protocol on "
                "loopback (no durability; never for\nproduction).  Prints "
                "its bootstrap list (127.0.0.1:PORT,...) as the first line\n"
                "on stdout, then serves until SIGTERM or SIGINT and exits "
                "0.\n\n"
                "Options:\n"
                "  -b, --brokers N        brokers, ids 1..N (default 3, at "
                "most %d)\n"
                "  -p, --partitions N     partitions of each topic created "
                "at start (default 6)\n"
                "  -t, --topic NAME       also create topic NAME at start "
                "(repeatable)\n"
                "  -s, --control PATH     also take control commands on "
                "Unix socket PATH\n"
                "      --log-level LEVEL  debug, info, warn or error "
                "(QL_LOG_LEVEL; info)\n"
                "      --log-format FMT   text or json (QL_LOG_FORMAT; "
                "text)\n"
                "      --rdkafka-debug CONTEXTS\n"
                "                         librdkafka debug contexts for the "
                "cluster, e.g. mock\n"
                "  -h, --help             print this text\n"
                "  -V, --version          print the version\n\n"
                "Topics created at start: inspection.results and "
                "inspection.results.dlq\n(and $QL_TOPIC, $QL_DLQ_TOPIC when "
                "set), with the partitions above and\nreplication factor "
                "min(3, brokers).\n\n"
                "Control commands, one a line, on stdin and on the --control "
                "socket.  Each\nis answered on the channel it came from, "
                "after the bootstrap line on\nstdout: \"ok\" once it is in "
                "force, or \"error: REASON\".  Blank lines and\nlines "
                "starting with # are ignored.  At the end of stdin the "
                "cluster keeps\nserving.\n\n",
                DB_MAX_BROKERS);
        for (size_t i = 0; i < db_cmd_count; i++) {
                char doc[512];
                db_cmd_doc(i, "  ", doc, sizeof(doc));
                fputs(doc, out);
        }
        fprintf(
            out,
            "\nAPI is a Kafka request type: Produce, Fetch, ListOffsets, "
            "Metadata,\nOffsetCommit, OffsetFetch, FindCoordinator, "
            "JoinGroup, Heartbeat, LeaveGroup,\nSyncGroup, "
            "InitProducerId, ... or its API key number.  CODE is an "
            "error\nname as librdkafka spells it (NOT_LEADER_FOR_PARTITION, "
            "REQUEST_TIMED_OUT,\n_TRANSPORT to drop the connection) or "
            "its number.  (librdkafka 2.0.2's mock ignores errors pushed for "
            "Metadata.)\nExamples:\n"
            "  error Produce NOT_LEADER_FOR_PARTITION 3\n"
            "  broker down 1\n");
}

static int db_add_topic(db_opts_t *o, const char *name)
{
        if (!name || !*name)
                return 0;
        for (size_t i = 0; i < o->topic_cnt; i++)
                if (!strcmp(o->topics[i], name))
                        return 0;
        const char **t = realloc(o->topics, sizeof(*t) * (o->topic_cnt + 1));
        if (!t)
                return -1;
        t[o->topic_cnt++] = name;
        o->topics = t;
        return 0;
}

/* 0 to run, 1 after --help/--version, 2 on a usage error (message printed). */
static int db_parse_opts(db_opts_t *o, int argc, char **argv)
{
        static const struct option longopts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"partitions", required_argument, NULL, 'p'},
            {"topic", required_argument, NULL, 't'},
            {"control", required_argument, NULL, 's'},
            {"log-level", required_argument, NULL, 'L'},
            {"log-format", required_argument, NULL, 'F'},
            {"rdkafka-debug", required_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {NULL, 0, NULL, 0},
        };
        const char *level = getenv("QL_LOG_LEVEL");
        const char *format = getenv("QL_LOG_FORMAT");
        char errstr[256];
        int c;

        *o = (db_opts_t){.brokers = 3, .partitions = 6};
        if (db_add_topic(o, "inspection.results") ||
            db_add_topic(o, "inspection.results.dlq") ||
            db_add_topic(o, getenv("QL_TOPIC")) ||
            db_add_topic(o, getenv("QL_DLQ_TOPIC")))
                goto nomem;

        while ((c = getopt_long(argc, argv, "b:p:t:s:hV", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'b':
                        if (db_parse_int("--brokers", optarg, 1, DB_MAX_BROKERS,
                                         &o->brokers, errstr, sizeof(errstr)))
                                goto bad;
                        break;
                case 'p':
                        if (db_parse_int("--partitions", optarg, 1, 10000,
                                         &o->partitions, errstr,
                                         sizeof(errstr)))
                                goto bad;
                        break;
                case 't':
                        if (db_add_topic(o, optarg))
                                goto nomem;
                        break;
                case 's':
                        o->control_path = optarg;
                        break;
                case 'L':
                        level = optarg;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'D':
                        o->rdkafka_debug = optarg;
                        break;
                case 'h':
                        db_usage(stdout);
                        return 1;
                case 'V':
                        printf(DB_PROG " %s (librdkafka %s)\n", QL_VERSION,
                               rd_kafka_version_str());
                        return 1;
                default:
                        fprintf(stderr, "Try '" DB_PROG " --help'.\n");
                        return 2;
                }
        }
        if (optind < argc) {
                snprintf(errstr, sizeof(errstr), "unexpected argument \"%s\"",
                         argv[optind]);
                goto bad;
        }
        int l = level && *level ? ql_log_level_parse(level) : QL_LOG_INFO;
        int f = format && *format ? ql_log_format_parse(format) : QL_LOG_TEXT;
        if (l < 0 || f < 0) {
                snprintf(errstr, sizeof(errstr), "%s: unknown value \"%s\"",
                         l < 0 ? "log level" : "log format",
                         l < 0 ? level : format);
                goto bad;
        }
        o->log_level = (ql_log_level_t)l;
        o->log_format = (ql_log_format_t)f;
        return 0;

bad:
        fprintf(stderr, DB_PROG ": %s\n", errstr);
        return 2;
nomem:
        fprintf(stderr, DB_PROG ": out of memory\n");
        return 2;
}

int main(int argc, char **argv)
{
        db_opts_t opts;
        devbroker_t db = {.opts = &opts};
        char errstr[512];
        int lfd = -1, rc = 1;

        int prc = db_parse_opts(&opts, argc, argv);
        if (prc) {
                free(opts.topics);
                return prc == 1 ? 0 : 2;
        }
        db.lg = ql_log_new(DB_PROG, opts.log_level, opts.log_format);
        if (!db.lg) {
                fprintf(stderr, DB_PROG ": out of memory\n");
                free(opts.topics);
                return 1;
        }

        /* Block the stop signals before librdkafka starts its threads, so
         * they inherit the mask and only ppoll() in this thread sees them. */
        sigset_t stop, waitmask;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, &waitmask);
        sigdelset(&waitmask, SIGINT);
        sigdelset(&waitmask, SIGTERM);
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN); /* a reader gone is a failed write */

        if (db_start(&db, errstr, sizeof(errstr))) {
                ql_error(db.lg, "%s", errstr);
                goto out;
        }
        if (opts.control_path) {
                lfd = db_control_listen(opts.control_path, errstr,
                                        sizeof(errstr));
                if (lfd < 0) {
                        ql_error(db.lg, "%s", errstr);
                        goto out;
                }
                ql_info(db.lg, "control socket %s", opts.control_path);
        }

        const char *bootstraps = rd_kafka_mock_cluster_bootstraps(db.mcluster);
        printf("%s\n", bootstraps);
        if (fflush(stdout)) {
                ql_error(db.lg, "stdout: %s", strerror(errno));
                goto out;
        }
        ql_info(db.lg, "serving %d brokers at %s (librdkafka %s)", opts.brokers,
                bootstraps, rd_kafka_version_str());

        db_serve(&db, lfd, &waitmask, &run);
        ql_info(db.lg, "stopping");
        rc = 0;

out:
        if (lfd >= 0) {
                close(lfd);
                unlink(opts.control_path);
        }
        db_stop(&db);
        ql_log_destroy(db.lg);
        free(opts.topics);
        return rc;
}
