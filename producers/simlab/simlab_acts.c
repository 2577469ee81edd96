/*
 * simlab_acts: keeps the originals and their act days, then writes the
 * script.  The script is one psql DO block over a VALUES list, run as the
 * officer: for each act it finds the case through the officer's view
 * (ql.case_plan.original_result_id: officers read no table), refuses to
 * guess when there is not exactly one, skips an act dated after the
 * database's today (ql.cst_today(), which ql.record_act would refuse) and
 * calls ql.record_act; the first refusal stops the script and rolls every
 * act back.
 */
#include "simlab_acts.h"

#include <stdlib.h>
#include <string.h>

#include "ql_time.h"

typedef struct {
        simlab_acts_original_t o; /* o.result_id owned */
        int settled, failed;
        unsigned doc_no; /* the order's number in its bureau's year */
} original_t;

struct simlab_acts_s {
        original_t *v;
        size_t n, cap;
};

enum { ACT_SERVED, ACT_OBJECTION, ACT_ORDER, ACT_ANNOUNCED };

static const char *const act_symbols[] = {"SERVED", "OBJECTION_FILED",
                                          "RECTIFY_ORDER", "ANNOUNCED"};

typedef struct {
        int32_t day;
        size_t original;
        int act;
} act_t;

simlab_acts_t *simlab_acts_new(void)
{
        return calloc(1, sizeof(simlab_acts_t));
}

long simlab_acts_add(simlab_acts_t *a, const simlab_acts_original_t *o)
{
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 256;
                original_t *v = realloc(a->v, cap * sizeof(*v));
                if (!v)
                        return -1;
                a->v = v, a->cap = cap;
        }
        original_t *x = &a->v[a->n];
        memset(x, 0, sizeof(*x));
        x->o = *o;
        x->o.result_id = strdup(o->result_id);
        if (!x->o.result_id)
                return -1;
        return (long)a->n++;
}

void simlab_acts_settled(simlab_acts_t *a, long n)
{
        a->v[n].settled = 1;
}

void simlab_acts_failed(simlab_acts_t *a, long n)
{
        a->v[n].failed = 1;
}

size_t simlab_acts_count(const simlab_acts_t *a)
{
        return a->n;
}

void simlab_acts_destroy(simlab_acts_t *a)
{
        if (!a)
                return;
        for (size_t i = 0; i < a->n; i++)
                free((char *)a->v[i].o.result_id);
        free(a->v);
        free(a);
}

/* ---- numbering the orders ----------------------------------------------- */

static int year_of(int32_t day)
{
        int y;
        unsigned m, d;
        ql_time_civil_from_days(day, &y, &m, &d);
        return y;
}

/* qsort has no context argument: the comparison reads the array through
 * indices held next to the key. */
typedef struct {
        const original_t *o;
        size_t i;
} order_key_t;

static int cmp_order(const void *pa, const void *pb)
{
        const order_key_t *a = pa, *b = pb;
        int c = strcmp(a->o->o.bureau, b->o->o.bureau);
        if (c)
                return c;
        if (a->o->o.ordered != b->o->o.ordered)
                return a->o->o.ordered < b->o->o.ordered ? -1 : 1;
        return a->i < b->i ? -1 : a->i > b->i;
}

/* Number every order issued by today: 1, 2, ... per bureau and year. */
static int number_orders(simlab_acts_t *a, int32_t today)
{
        order_key_t *k = malloc((a->n ? a->n : 1) * sizeof(*k));
        if (!k)
                return -1;
        size_t n = 0;
        for (size_t i = 0; i < a->n; i++)
                if (a->v[i].o.ordered <= today)
                        k[n].o = &a->v[i], k[n].i = i, n++;
        qsort(k, n, sizeof(*k), cmp_order);
        unsigned seq = 0;
        for (size_t j = 0; j < n; j++) {
                if (j == 0 || strcmp(k[j].o->o.bureau, k[j - 1].o->o.bureau) ||
                    year_of(k[j].o->o.ordered) !=
                        year_of(k[j - 1].o->o.ordered))
                        seq = 0;
                a->v[k[j].i].doc_no = ++seq;
        }
        free(k);
        return 0;
}

/* ---- the script ------------------------------------------------------------
 */

static int cmp_act(const void *pa, const void *pb)
{
        const act_t *a = pa, *b = pb;
        if (a->day != b->day)
                return a->day < b->day ? -1 : 1;
        if (a->original != b->original)
                return a->original < b->original ? -1 : 1;
        return a->act - b->act;
}

/* A SQL string literal inside the DO block's $acts$ quotes: quotes
 * doubled; a '$' is refused so that no value can end the block. */
static int put_literal(FILE *fp, const char *s)
{
        if (!s)
                return fputs("NULL", fp) < 0 ? -1 : 0;
        if (strchr(s, '$'))
                return -1;
        if (fputc('\'', fp) == EOF)
                return -1;
        for (; *s; s++)
                if ((*s == '\'' && fputc('\'', fp) == EOF) ||
                    fputc(*s, fp) == EOF)
                        return -1;
        return fputc('\'', fp) == EOF ? -1 : 0;
}

static int put_act(FILE *fp, const original_t *x, const act_t *act, size_t n)
{
        char day[16], doc[96], note[256];
        ql_time_format_date(act->day, day, sizeof(day));
        const char *doc_no = NULL;
        switch (act->act) {
        case ACT_SERVED:
                snprintf(note, sizeof(note), "检验结果通知书已送达被抽样单位");
                break;
        case ACT_OBJECTION:
                snprintf(note, sizeof(note),
                         "被抽样单位对检验结论有异议，申请复检（备样）；"
                         "复检机构：%s",
                         x->o.retest_lab ? x->o.retest_lab : "另行确定");
                break;
        case ACT_ORDER:
                snprintf(doc, sizeof(doc), "%s责改〔%d〕%u号", x->o.bureau,
                         year_of(act->day), x->doc_no);
                doc_no = doc;
                snprintf(note, sizeof(note),
                         "责令自责令之日起六十日内改正，停止生产、销售同一"
                         "产品");
                break;
        default:
                snprintf(note, sizeof(note),
                         "复查仍不合格，已逐级上报省级市场监督管理部门向"
                         "社会公告");
                break;
        }
        if (fprintf(fp, "%s        (%zu, ", n > 1 ? ",\n" : "", n) < 0 ||
            put_literal(fp, x->o.result_id) || fputs(", ", fp) < 0 ||
            put_literal(fp, act_symbols[act->act]) ||
            fprintf(fp, ", DATE '%s', ", day) < 0 || put_literal(fp, doc_no) ||
            fputs(", ", fp) < 0 || put_literal(fp, note) ||
            fputc(')', fp) == EOF)
                return -1;
        return 0;
}

static const char script_head[] =
    "-- The legal acts the officers took on the nonconforming results of\n"
    "-- this ql-simlab run that are still open, in date order: apply them\n"
    "-- as an officer of the results' region after ql-triage stored the\n"
    "-- results, e.g.\n"
    "--     psql -U huli_officer -d qingling -f acts.sql\n"
    "-- Each act names its case by the nonconforming result that opened it\n"
    "-- (ql.case_plan.original_result_id); an act dated after today is not\n"
    "-- recorded yet; the first act the database refuses stops the script\n"
    "-- and records none.\n"
    "\\set ON_ERROR_STOP on\n"
    "DO $acts$\n"
    "DECLARE\n"
    "    a record;\n"
    "    cases text[];\n"
    "    recorded integer := 0;\n"
    "    later integer := 0;\n"
    "BEGIN\n"
    "    FOR a IN SELECT * FROM (VALUES\n";

/* After the rows; in place of them when there is no act. */
static const char script_rows_end[] =
    "\n    ) AS v(n, result_id, act, on_date, doc_no, note) ORDER BY n\n";
static const char script_empty[] =
    "        (NULL::integer, NULL::text, NULL::text, NULL::date, NULL::text,\n"
    "         NULL::text)\n"
    "    ) AS v(n, result_id, act, on_date, doc_no, note) WHERE false\n";

static const char script_tail[] =
    "    LOOP\n"
    "        IF a.on_date > ql.cst_today() THEN\n"
    "            later := later + 1;\n"
    "            CONTINUE;\n"
    "        END IF;\n"
    "        SELECT array_agg(DISTINCT p.case_no) INTO cases\n"
    "          FROM ql.case_plan p WHERE p.original_result_id = "
    "a.result_id;\n"
    "        IF coalesce(cardinality(cases), 0) <> 1 THEN\n"
    "            RAISE EXCEPTION 'result %: % cases in your regions, not "
    "one',\n"
    "                a.result_id, coalesce(cardinality(cases), 0);\n"
    "        END IF;\n"
    "        PERFORM ql.record_act(cases[1], a.act, a.on_date, a.doc_no, "
    "a.note);\n"
    "        recorded := recorded + 1;\n"
    "    END LOOP;\n"
    "    RAISE NOTICE 'ql-simlab acts: % recorded, % dated after today "
    "not yet',\n"
    "        recorded, later;\n"
    "END\n"
    "$acts$;\n";

int simlab_acts_write(simlab_acts_t *a, FILE *fp, int32_t today, char *errstr,
                      size_t errstr_size)
{
        if (number_orders(a, today)) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        size_t n = 0, cap = a->n * 4;
        act_t *acts = malloc((cap ? cap : 1) * sizeof(*acts));
        if (!acts) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (size_t i = 0; i < a->n; i++) {
                const original_t *x = &a->v[i];
                if (x->settled)
                        continue;
                int32_t days[] = {x->o.served, x->o.objection, x->o.ordered,
                                  x->failed ? x->o.announced : SIMLAB_NO_DAY};
                for (int k = ACT_SERVED; k <= ACT_ANNOUNCED; k++)
                        if (days[k] != SIMLAB_NO_DAY && days[k] <= today)
                                acts[n++] = (act_t){days[k], i, k};
        }
        qsort(acts, n, sizeof(*acts), cmp_act);

        int rc = fputs(script_head, fp) < 0 ? -1 : 0;
        for (size_t j = 0; j < n && !rc; j++)
                rc = put_act(fp, &a->v[acts[j].original], &acts[j], j + 1);
        if (!rc)
                rc = fputs(n ? script_rows_end : script_empty, fp) < 0 ? -1 : 0;
        if (!rc)
                rc = fputs(script_tail, fp) < 0 || fflush(fp) ? -1 : 0;
        free(acts);
        if (rc)
                snprintf(errstr, errstr_size, "cannot write the acts");
        return rc;
}
