/*
 * bd_chart: horizontal bar charts drawn as inline SVG by the page itself
 * (no script, no library): one row per label, each bar split into its
 * parts (e.g. cleared and still open), the numbers written beside it.
 * Colours come from the stylesheet through the parts' class names, so the
 * SVG carries no style attribute.
 */
#ifndef BD_CHART_H
#define BD_CHART_H

#include <stddef.h>

#include "bd_buf.h"

#define BD_CHART_PARTS 2

typedef struct {
        const char *label;
        long long v[BD_CHART_PARTS];
} bd_bar_t;

/* Draw bars[0..n) scaled to the largest total.  part_class and part_name
 * name each part (class for the colour, name for the legend); title is the
 * chart's accessible name. */
void bd_chart_bars(bd_buf_t *b, const char *title, const bd_bar_t *bars,
                   size_t n, const char *const part_class[BD_CHART_PARTS],
                   const char *const part_name[BD_CHART_PARTS]);

/* A column chart of a series over time: per label (e.g. a month) the parts
 * side by side. */
void bd_chart_columns(bd_buf_t *b, const char *title, const bd_bar_t *bars,
                      size_t n, const char *const part_class[BD_CHART_PARTS],
                      const char *const part_name[BD_CHART_PARTS]);

#endif
