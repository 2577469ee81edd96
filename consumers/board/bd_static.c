/*
 * bd_static: a small in-memory table of files (see bd_static.h).  The ETag
 * is a hash of the contents (FNV-1a, 64 bits): it changes when a file does.
 */
#include "bd_static.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES 32
#define MAX_SIZE  (1024 * 1024)

typedef struct {
        char *name;
        char *data;
        size_t len;
        const char *type;
        char etag[24];
} file_t;

struct bd_static_s {
        file_t f[MAX_FILES];
        size_t n;
};

static const char *type_of(const char *name)
{
        const char *dot = strrchr(name, '.');
        if (!dot)
                return NULL;
        if (!strcmp(dot, ".css"))
                return "text/css; charset=utf-8";
        if (!strcmp(dot, ".js"))
                return "text/javascript; charset=utf-8";
        if (!strcmp(dot, ".svg"))
                return "image/svg+xml";
        if (!strcmp(dot, ".png"))
                return "image/png";
        return NULL;
}

void bd_static_destroy(bd_static_t *st)
{
        if (!st)
                return;
        for (size_t i = 0; i < st->n; i++) {
                free(st->f[i].name);
                free(st->f[i].data);
        }
        free(st);
}

static int load_one(file_t *f, const char *dir, const char *name, char *errstr,
                    size_t errstr_size)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *fp = fopen(path, "rb");
        struct stat sb;
        if (!fp || fstat(fileno(fp), &sb) || sb.st_size > MAX_SIZE) {
                snprintf(errstr, errstr_size, "board_static_dir: %s: %s", path,
                         fp ? "too large" : strerror(errno));
                if (fp)
                        fclose(fp);
                return -1;
        }
        f->len = (size_t)sb.st_size;
        f->data = malloc(f->len + 1);
        f->name = strdup(name);
        if (!f->data || !f->name || fread(f->data, 1, f->len, fp) != f->len) {
                snprintf(errstr, errstr_size,
                         "board_static_dir: cannot read %s", path);
                fclose(fp);
                return -1;
        }
        fclose(fp);
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < f->len; i++)
                h = (h ^ (unsigned char)f->data[i]) * 1099511628211ULL;
        snprintf(f->etag, sizeof(f->etag), "\"%016llx\"",
                 (unsigned long long)h);
        f->type = type_of(name);
        return 0;
}

bd_static_t *bd_static_load(const char *dir, char *errstr, size_t errstr_size)
{
        DIR *d = opendir(dir ? dir : "");
        if (!d) {
                snprintf(errstr, errstr_size, "board_static_dir: %s: %s",
                         dir ? dir : "", strerror(errno));
                return NULL;
        }
        bd_static_t *st = calloc(1, sizeof(*st));
        if (!st) {
                closedir(d);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || !type_of(e->d_name))
                        continue;
                if (st->n == MAX_FILES ||
                    load_one(&st->f[st->n], dir, e->d_name, errstr,
                             errstr_size)) {
                        if (st->n == MAX_FILES)
                                snprintf(errstr, errstr_size,
                                         "board_static_dir: more than %d "
                                         "files",
                                         MAX_FILES);
                        else
                                st->n++; /* so that destroy frees it */
                        closedir(d);
                        bd_static_destroy(st);
                        return NULL;
                }
                st->n++;
        }
        closedir(d);
        size_t len;
        const char *t, *etag;
        if (!bd_static_get(st, "board.css", &len, &t, &etag)) {
                snprintf(errstr, errstr_size,
                         "board_static_dir: %s has no board.css", dir);
                bd_static_destroy(st);
                return NULL;
        }
        return st;
}

const char *bd_static_get(const bd_static_t *st, const char *name, size_t *len,
                          const char **content_type, const char **etag)
{
        for (size_t i = 0; i < st->n; i++)
                if (!strcmp(st->f[i].name, name)) {
                        *len = st->f[i].len;
                        *content_type = st->f[i].type;
                        *etag = st->f[i].etag;
                        return st->f[i].data;
                }
        return NULL;
}
