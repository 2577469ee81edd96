/*
 * ql_metrics: counters, gauges and histograms in Prometheus text format, and
 * the small HTTP endpoint (libmicrohttpd) that serves /metrics, /healthz and
 * /readyz on QL_METRICS_ADDR.  Names follow ql_<binary>_<what>_total for
 * counters and ..._seconds for durations.  Updates are lock-free atomics, so
 * any thread may count; registration happens at start, before serving.
 */
#ifndef QL_METRICS_H
#define QL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ql_metrics_s ql_metrics_t;
typedef struct ql_counter_s ql_counter_t;
typedef struct ql_gauge_s ql_gauge_t;
typedef struct ql_histogram_s ql_histogram_t;

/* A registry for program `prog` (e.g. "ql-triage"); it exports the
 * ql_build_info gauge itself. */
ql_metrics_t *ql_metrics_new(const char *prog);
void ql_metrics_destroy(ql_metrics_t *m); /* stops the server; accepts NULL */

/* Register a series.  `labels` is NULL or a label set without braces, e.g.
 * "status=\"202\"".  Registering the same name+labels twice returns the same
 * series.  The registry owns what it returns. */
ql_counter_t *ql_metrics_counter(ql_metrics_t *m, const char *name,
                                 const char *help, const char *labels);
ql_gauge_t *ql_metrics_gauge(ql_metrics_t *m, const char *name,
                             const char *help, const char *labels);
/* Histogram in seconds with the default buckets 1ms .. 10s. */
ql_histogram_t *ql_metrics_histogram(ql_metrics_t *m, const char *name,
                                     const char *help, const char *labels);

void ql_counter_add(ql_counter_t *c, uint64_t n); /* c may be NULL */
uint64_t ql_counter_get(const ql_counter_t *c);
void ql_gauge_set(ql_gauge_t *g, double v);
void ql_histogram_observe(ql_histogram_t *h, double seconds);

/* A callback that appends dynamic series (e.g. per-partition lag) to the
 * exposition; it writes complete lines with `emit`. */
typedef void (*ql_metrics_emit_fn)(void *emit_ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
typedef void (*ql_metrics_collect_fn)(void *arg, ql_metrics_emit_fn emit,
                                      void *emit_ctx);
void ql_metrics_add_collector(ql_metrics_t *m, ql_metrics_collect_fn fn,
                              void *arg);

/* Readiness: /readyz answers 200 when fn returns 1, else 503 with the reason
 * fn wrote.  Without a callback /readyz answers like /healthz. */
typedef int (*ql_metrics_ready_fn)(void *arg, char *why, size_t why_size);
void ql_metrics_set_ready(ql_metrics_t *m, ql_metrics_ready_fn fn, void *arg);

/* Render the whole exposition.  Returns a malloc'ed string you own. */
char *ql_metrics_render(ql_metrics_t *m);

/* Answer GET /metrics, /healthz or /readyz: fills *status, *content_type
 * and a malloc'ed *body you own.  Returns 0 if the path is one of these, -1
 * otherwise (the gateway routes everything else itself). */
int ql_metrics_answer(ql_metrics_t *m, const char *path, int *status,
                      const char **content_type, char **body);

/* Resolve a listen address "host:port" (empty host: every interface) for a
 * libmicrohttpd server; `setting` names it in errors ("metrics_addr").
 * 0 with *ai set (you own it: freeaddrinfo), or -1 with errstr. */
struct addrinfo;
int ql_metrics_resolve_listen(const char *setting, const char *addr,
                              struct addrinfo **ai /* OUT */, char *errstr,
                              size_t errstr_size);

/* Serve the three paths on addr ("host:port") in a background thread.
 * Returns 0, or -1 with errstr (bad address, port in use). */
int ql_metrics_serve(ql_metrics_t *m, const char *addr, char *errstr,
                     size_t errstr_size);

/* Stop serving (waits for requests in progress), e.g. before what the
 * readiness callback uses is destroyed.  The registry stays usable. */
void ql_metrics_stop(ql_metrics_t *m);

#endif
