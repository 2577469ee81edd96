/*
 * bd_titles: the Chinese an officer reads for each code the database
 * stores (statuses, priorities, acts, result kinds, ...).  Where a view
 * carries its own *_title column, the page shows that; these are for the
 * codes that have none, and for the districts while a view gives only the
 * region code.  A code not in the table is shown as it is.
 */
#ifndef BD_TITLES_H
#define BD_TITLES_H

typedef enum {
        BD_T_CASE_STATUS,
        BD_T_PRIORITY,
        BD_T_ACTION_STATUS,
        BD_T_FINDING_STATUS,
        BD_T_SEVERITY,
        BD_T_KIND,
        BD_T_VERDICT,
        BD_T_LEVEL,
        BD_T_STAGE,
        BD_T_RECHECK_REASON,
        BD_T_ACT,
        BD_T_OBJECTION,
        BD_T_IMPORTANCE,
        BD_T_REGION,
        BD_T_ACTION,
        BD_T_CATEGORY,
} bd_title_kind_t;

/* The title of `code` in table `kind`, or code itself when unknown (NULL
 * for NULL). */
const char *bd_title(bd_title_kind_t kind, const char *code);

/* The title if known, else NULL. */
const char *bd_title_known(bd_title_kind_t kind, const char *code);

#endif
