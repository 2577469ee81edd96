/*
 * ql_metrics: a registry of series in Prometheus text exposition format and
 * the libmicrohttpd endpoint serving /metrics, /healthz and /readyz.  Series
 * are registered at start (under a lock) and updated lock-free afterwards;
 * rendering walks the registry under the same lock.  Series of one name are
 * kept adjacent so HELP and TYPE are written once per family.
 */
#include "ql_metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ql_config.h"

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_type_t;

static const double bucket_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

typedef struct series_s {
        struct series_s *next;
        metric_type_t type;
        char *name, *help, *labels;
        _Atomic uint64_t value;             /* counter; gauge as double bits */
        _Atomic uint64_t buckets[NBUCKETS]; /* histogram, non-cumulative */
        _Atomic uint64_t count;
        _Atomic uint64_t sum_bits; /* double */
} series_t;

struct ql_counter_s {
        series_t s;
};
struct ql_gauge_s {
        series_t s;
};
struct ql_histogram_s {
        series_t s;
};

typedef struct collector_s {
        struct collector_s *next;
        ql_metrics_collect_fn fn;
        void *arg;
} collector_t;

struct ql_metrics_s {
        pthread_mutex_t lock;
        char *prog;
        series_t *head;
        collector_t *collectors;
        ql_metrics_ready_fn ready;
        void *ready_arg;
        struct MHD_Daemon *httpd;
};

ql_metrics_t *ql_metrics_new(const char *prog)
{
        ql_metrics_t *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        pthread_mutex_init(&m->lock, NULL);
        m->prog = strdup(prog);
        char labels[256];
        snprintf(labels, sizeof(labels), "program=\"%s\",version=\"%s\"", prog,
                 QL_VERSION);
        ql_gauge_set(ql_metrics_gauge(m, "ql_build_info",
                                      "Build information; always 1.", labels),
                     1);
        return m;
}

void ql_metrics_stop(ql_metrics_t *m)
{
        if (m && m->httpd) {
                MHD_stop_daemon(m->httpd);
                m->httpd = NULL;
        }
}

void ql_metrics_destroy(ql_metrics_t *m)
{
        if (!m)
                return;
        ql_metrics_stop(m);
        for (series_t *s = m->head, *next; s; s = next) {
                next = s->next;
                free(s->name);
                free(s->help);
                free(s->labels);
                free(s);
        }
        for (collector_t *c = m->collectors, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        pthread_mutex_destroy(&m->lock);
        free(m->prog);
        free(m);
}

static series_t *registry_add(ql_metrics_t *m, metric_type_t type,
                              const char *name, const char *help,
                              const char *labels)
{
        if (!m)
                return NULL;
        labels = labels ? labels : "";
        pthread_mutex_lock(&m->lock);
        series_t *last_of_name = NULL, **tail = &m->head;
        for (series_t *s = m->head; s; s = s->next) {
                if (!strcmp(s->name, name)) {
                        if (!strcmp(s->labels, labels)) {
                                pthread_mutex_unlock(&m->lock);
                                return s;
                        }
                        last_of_name = s;
                }
                tail = &s->next;
        }
        series_t *s = calloc(1, sizeof(*s));
        if (s) {
                s->type = type;
                s->name = strdup(name);
                s->help = strdup(help ? help : "");
                s->labels = strdup(labels);
                /* Keep a family together: insert after its last series. */
                if (last_of_name) {
                        s->next = last_of_name->next;
                        last_of_name->next = s;
                } else {
                        *tail = s;
                }
        }
        pthread_mutex_unlock(&m->lock);
        return s;
}

ql_counter_t *ql_metrics_counter(ql_metrics_t *m, const char *name,
                                 const char *help, const char *labels)
{
        return (ql_counter_t *)registry_add(m, M_COUNTER, name, help, labels);
}

ql_gauge_t *ql_metrics_gauge(ql_metrics_t *m, const char *name,
                             const char *help, const char *labels)
{
        return (ql_gauge_t *)registry_add(m, M_GAUGE, name, help, labels);
}

ql_histogram_t *ql_metrics_histogram(ql_metrics_t *m, const char *name,
                                     const char *help, const char *labels)
{
        return (ql_histogram_t *)registry_add(m, M_HISTOGRAM, name, help,
                                              labels);
}

void ql_counter_add(ql_counter_t *c, uint64_t n)
{
        if (c)
                atomic_fetch_add_explicit(&c->s.value, n, memory_order_relaxed);
}

uint64_t ql_counter_get(const ql_counter_t *c)
{
        return c ? atomic_load(&((ql_counter_t *)c)->s.value) : 0;
}

static uint64_t dbits(double v)
{
        uint64_t b;
        memcpy(&b, &v, sizeof(b));
        return b;
}

static double bitsd(uint64_t b)
{
        double v;
        memcpy(&v, &b, sizeof(v));
        return v;
}

void ql_gauge_set(ql_gauge_t *g, double v)
{
        if (g)
                atomic_store(&g->s.value, dbits(v));
}

void ql_histogram_observe(ql_histogram_t *h, double seconds)
{
        if (!h)
                return;
        size_t i = 0;
        while (i < NBUCKETS && seconds > bucket_bounds[i])
                i++;
        if (i < NBUCKETS)
                atomic_fetch_add(&h->s.buckets[i], 1);
        atomic_fetch_add(&h->s.count, 1);
        uint64_t old = atomic_load(&h->s.sum_bits);
        while (!atomic_compare_exchange_weak(&h->s.sum_bits, &old,
                                             dbits(bitsd(old) + seconds)))
                ;
}

void ql_metrics_add_collector(ql_metrics_t *m, ql_metrics_collect_fn fn,
                              void *arg)
{
        collector_t *c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->fn = fn;
        c->arg = arg;
        pthread_mutex_lock(&m->lock);
        c->next = m->collectors;
        m->collectors = c;
        pthread_mutex_unlock(&m->lock);
}

void ql_metrics_set_ready(ql_metrics_t *m, ql_metrics_ready_fn fn, void *arg)
{
        pthread_mutex_lock(&m->lock);
        m->ready = fn;
        m->ready_arg = arg;
        pthread_mutex_unlock(&m->lock);
}

/* A growable output buffer for rendering. */
typedef struct {
        char *buf;
        size_t len, cap;
        int oom;
} out_t;

static void out_vprintf(out_t *o, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void out_vprintf(out_t *o, const char *fmt, va_list ap)
{
        if (o->oom)
                return;
        for (;;) {
                va_list cp;
                va_copy(cp, ap);
                size_t room = o->cap - o->len;
                int n =
                    vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, cp);
                va_end(cp);
                if (n < 0) {
                        o->oom = 1;
                        return;
                }
                if ((size_t)n < room) {
                        o->len += (size_t)n;
                        return;
                }
                size_t cap = (o->cap ? o->cap * 2 : 4096) + (size_t)n;
                char *b = realloc(o->buf, cap);
                if (!b) {
                        o->oom = 1;
                        return;
                }
                o->buf = b;
                o->cap = cap;
        }
}

static void out_printf(void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_printf(void *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        out_vprintf(ctx, fmt, ap);
        va_end(ap);
}

static void render_labels(out_t *o, const char *labels, const char *extra)
{
        int have = labels && *labels;
        if (!have && !extra)
                return;
        out_printf(o, "{%s%s%s}", have ? labels : "", have && extra ? "," : "",
                   extra ? extra : "");
}

char *ql_metrics_render(ql_metrics_t *m)
{
        static const char *const type_names[] = {"counter", "gauge",
                                                 "histogram"};
        out_t o = {0};
        pthread_mutex_lock(&m->lock);
        const char *family = NULL;
        for (series_t *s = m->head; s; s = s->next) {
                if (!family || strcmp(family, s->name)) {
                        out_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", s->name,
                                   s->help, s->name, type_names[s->type]);
                        family = s->name;
                }
                if (s->type == M_COUNTER) {
                        out_printf(&o, "%s", s->name);
                        render_labels(&o, s->labels, NULL);
                        out_printf(&o, " %llu\n",
                                   (unsigned long long)atomic_load(&s->value));
                } else if (s->type == M_GAUGE) {
                        out_printf(&o, "%s", s->name);
                        render_labels(&o, s->labels, NULL);
                        out_printf(&o, " %.17g\n",
                                   bitsd(atomic_load(&s->value)));
                } else {
                        uint64_t cum = 0;
                        char le[40];
                        for (size_t i = 0; i < NBUCKETS; i++) {
                                cum += atomic_load(&s->buckets[i]);
                                snprintf(le, sizeof(le), "le=\"%g\"",
                                         bucket_bounds[i]);
                                out_printf(&o, "%s_bucket", s->name);
                                render_labels(&o, s->labels, le);
                                out_printf(&o, " %llu\n",
                                           (unsigned long long)cum);
                        }
                        uint64_t count = atomic_load(&s->count);
                        out_printf(&o, "%s_bucket", s->name);
                        render_labels(&o, s->labels, "le=\"+Inf\"");
                        out_printf(&o, " %llu\n%s_sum",
                                   (unsigned long long)count, s->name);
                        render_labels(&o, s->labels, NULL);
                        out_printf(&o, " %.17g\n%s_count",
                                   bitsd(atomic_load(&s->sum_bits)), s->name);
                        render_labels(&o, s->labels, NULL);
                        out_printf(&o, " %llu\n", (unsigned long long)count);
                }
        }
        for (collector_t *c = m->collectors; c; c = c->next)
                c->fn(c->arg, out_printf, &o);
        pthread_mutex_unlock(&m->lock);
        if (o.oom) {
                free(o.buf);
                return NULL;
        }
        if (!o.buf)
                return strdup("");
        return o.buf;
}

int ql_metrics_answer(ql_metrics_t *m, const char *path, int *status,
                      const char **content_type, char **body)
{
        *content_type = "text/plain; charset=utf-8";
        if (!strcmp(path, "/metrics")) {
                *content_type = "text/plain; version=0.0.4; charset=utf-8";
                *body = ql_metrics_render(m);
                *status = *body ? 200 : 500;
                if (!*body)
                        *body = strdup("out of memory\n");
                return 0;
        }
        if (!strcmp(path, "/healthz")) {
                *status = 200;
                *body = strdup("ok\n");
                return 0;
        }
        if (!strcmp(path, "/readyz")) {
                pthread_mutex_lock(&m->lock);
                ql_metrics_ready_fn fn = m->ready;
                void *arg = m->ready_arg;
                pthread_mutex_unlock(&m->lock);
                char why[256] = "";
                int ok = fn ? fn(arg, why, sizeof(why)) : 1;
                *status = ok ? 200 : 503;
                size_t n = strlen(why) + 32;
                *body = malloc(n);
                if (*body)
                        snprintf(*body, n, "%s%s%s\n",
                                 ok ? "ready" : "not ready", why[0] ? ": " : "",
                                 why);
                return 0;
        }
        return -1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
        ql_metrics_t *m = cls;
        int status;
        const char *ctype;
        char *body = NULL;
        if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
                status = 405;
                ctype = "text/plain";
                body = strdup("method not allowed\n");
        } else if (ql_metrics_answer(m, url, &status, &ctype, &body) != 0) {
                status = 404;
                ctype = "text/plain";
                body = strdup("not found: try /metrics, /healthz, /readyz\n");
        }
        if (!body)
                return MHD_NO;
        struct MHD_Response *r = MHD_create_response_from_buffer(
            strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", ctype);
        enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
        MHD_destroy_response(r);
        return ret;
}

int ql_metrics_resolve_listen(const char *setting, const char *addr,
                              struct addrinfo **ai, char *errstr,
                              size_t errstr_size)
{
        char host[256];
        int port;
        *ai = NULL;
        if (ql_config_split_addr(addr, host, sizeof(host), &port)) {
                snprintf(errstr, errstr_size, "%s: '%s' is not HOST:PORT",
                         setting, addr ? addr : "");
                return -1;
        }
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE};
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", port);
        int gai = getaddrinfo(*host ? host : NULL, portstr, &hints, ai);
        if (gai) {
                snprintf(errstr, errstr_size, "%s: %s: %s", setting, host,
                         gai_strerror(gai));
                *ai = NULL;
                return -1;
        }
        return 0;
}

int ql_metrics_serve(ql_metrics_t *m, const char *addr, char *errstr,
                     size_t errstr_size)
{
        struct addrinfo *ai;
        if (ql_metrics_resolve_listen("metrics_addr", addr, &ai, errstr,
                                      errstr_size))
                return -1;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
        if (ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        m->httpd = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
            ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
        freeaddrinfo(ai);
        if (!m->httpd) {
                snprintf(errstr, errstr_size,
                         "metrics_addr: cannot listen on %s (in use?)", addr);
                return -1;
        }
        return 0;
}
