/*
 * bench_csvparse: the floor under ql-spool's CSV path, for its benchmark.
 * Parses a file once with libcsv, with the parser options spool_csvread uses,
 * and nothing else: no charset check, no document, no Avro, no Kafka.  The
 * callbacks only count.  Prints rows, fields and the CPU seconds spent, so
 * the benchmark can show how fast any libcsv-based reader could go on this
 * machine.
 *
 *     bench_csvparse FILE.csv
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <csv.h>

typedef struct {
        size_t fields, rows;
} counts_t;

static void on_field(void *s, size_t len, void *arg)
{
        (void)s;
        (void)len;
        ((counts_t *)arg)->fields++;
}

static void on_row(int c, void *arg)
{
        (void)c;
        ((counts_t *)arg)->rows++;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: bench_csvparse FILE.csv\n");
                return 2;
        }
        FILE *f = fopen(argv[1], "rb");
        if (!f) {
                perror(argv[1]);
                return 1;
        }
        struct csv_parser p;
        if (csv_init(&p, CSV_APPEND_NULL)) {
                fprintf(stderr, "bench_csvparse: out of memory\n");
                fclose(f);
                return 1;
        }
        csv_set_blk_size(&p, 1024);
        static char buf[1 << 16];
        counts_t n = {0, 0};
        struct timespec t0, t1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        size_t got;
        int rc = 0;
        while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
                if (csv_parse(&p, buf, got, on_field, on_row, &n) != got) {
                        fprintf(stderr, "bench_csvparse: %s\n",
                                csv_strerror(csv_error(&p)));
                        rc = 1;
                        break;
                }
        csv_fini(&p, on_field, on_row, &n);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        csv_free(&p);
        fclose(f);
        printf("%zu rows %zu fields %.3f s\n", n.rows, n.fields,
               (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        return rc;
}
