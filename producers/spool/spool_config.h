/*
 * spool_config: ql-spool's settings, the shared ones (ql_config.h) and its
 * own: the spool directory, the lab, the one-shot modes and the listing of
 * incoming/.  Built with ql_config_build(&spool_config_program, &cfg, ...).
 */
#ifndef SPOOL_CONFIG_H
#define SPOOL_CONFIG_H

#include "ql_config.h"

typedef struct {
        ql_config_t base; /* first: the shared table's offsets apply */
        char *dir;
        char *lab;
        char *check; /* --check FILE */
        int once;
        int rescan;         /* seconds between listings of incoming/, 0 off */
        int min_age;        /* seconds a listed file must be unmodified */
        int done_retention; /* days files stay in done/, 0 = for ever */
} spool_config_t;

extern const ql_program_t spool_config_program;

#endif
