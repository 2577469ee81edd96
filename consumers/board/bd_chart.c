/*
 * bd_chart: SVG bar and column charts (see bd_chart.h).  Geometry in user
 * units of a viewBox, so the chart scales with the page.  Labels and
 * titles go through bd_html.
 */
#include "bd_chart.h"

#include "bd_html.h"

#define W       720
#define LABEL_W 150
#define NUM_W   120
#define ROW_H   26
#define BAR_H   16

static void legend(bd_buf_t *b, int y, const char *const cls[],
                   const char *const name[])
{
        int x = LABEL_W;
        for (int p = 0; p < BD_CHART_PARTS; p++) {
                bd_buf_printf(b, "<rect class=\"");
                bd_html_attr(b, cls[p]);
                bd_buf_printf(b,
                              "\" x=\"%d\" y=\"%d\" width=\"12\" "
                              "height=\"12\"/><text x=\"%d\" y=\"%d\">",
                              x, y, x + 16, y + 11);
                bd_html_txt(b, name[p]);
                bd_buf_puts(b, "</text>");
                x += 140;
        }
}

void bd_chart_bars(bd_buf_t *b, const char *title, const bd_bar_t *bars,
                   size_t n, const char *const part_class[BD_CHART_PARTS],
                   const char *const part_name[BD_CHART_PARTS])
{
        long long max = 1;
        for (size_t i = 0; i < n; i++) {
                long long t = 0;
                for (int p = 0; p < BD_CHART_PARTS; p++)
                        t += bars[i].v[p] > 0 ? bars[i].v[p] : 0;
                if (t > max)
                        max = t;
        }
        int h = (int)n * ROW_H + 30;
        int span = W - LABEL_W - NUM_W;
        bd_buf_printf(b,
                      "<svg class=\"chart\" viewBox=\"0 0 %d %d\" "
                      "role=\"img\" aria-label=\"",
                      W, h);
        bd_html_attr(b, title);
        bd_buf_puts(b, "\"><title>");
        bd_html_txt(b, title);
        bd_buf_puts(b, "</title>");
        for (size_t i = 0; i < n; i++) {
                int y = (int)i * ROW_H;
                bd_buf_printf(b,
                              "<text class=\"label\" x=\"%d\" y=\"%d\" "
                              "text-anchor=\"end\">",
                              LABEL_W - 8, y + BAR_H - 3);
                bd_html_txt(b, bars[i].label);
                bd_buf_puts(b, "</text>");
                double x = LABEL_W;
                long long total = 0;
                for (int p = 0; p < BD_CHART_PARTS; p++) {
                        long long v = bars[i].v[p] > 0 ? bars[i].v[p] : 0;
                        double w = (double)span * (double)v / (double)max;
                        total += v;
                        if (v == 0)
                                continue;
                        bd_buf_puts(b, "<rect class=\"");
                        bd_html_attr(b, part_class[p]);
                        bd_buf_printf(b,
                                      "\" x=\"%.1f\" y=\"%d\" "
                                      "width=\"%.1f\" height=\"%d\"/>",
                                      x, y, w, BAR_H);
                        x += w;
                }
                bd_buf_printf(b, "<text class=\"num\" x=\"%.1f\" y=\"%d\">",
                              x + 6, y + BAR_H - 3);
                for (int p = 0; p < BD_CHART_PARTS; p++)
                        bd_buf_printf(b, "%s%lld", p ? " / " : "",
                                      bars[i].v[p]);
                bd_buf_puts(b, "</text>");
                (void)total;
        }
        legend(b, (int)n * ROW_H + 8, part_class, part_name);
        bd_buf_puts(b, "</svg>");
}

void bd_chart_columns(bd_buf_t *b, const char *title, const bd_bar_t *bars,
                      size_t n, const char *const part_class[BD_CHART_PARTS],
                      const char *const part_name[BD_CHART_PARTS])
{
        long long max = 1;
        for (size_t i = 0; i < n; i++)
                for (int p = 0; p < BD_CHART_PARTS; p++)
                        if (bars[i].v[p] > max)
                                max = bars[i].v[p];
        const int plot_h = 160, top = 16, base = top + plot_h;
        int col_w = n ? (W - 40) / (int)n : W;
        if (col_w > 60)
                col_w = 60;
        int bar_w = (col_w - 6) / BD_CHART_PARTS;
        bd_buf_printf(b,
                      "<svg class=\"chart\" viewBox=\"0 0 %d %d\" "
                      "role=\"img\" aria-label=\"",
                      W, base + 56);
        bd_html_attr(b, title);
        bd_buf_puts(b, "\"><title>");
        bd_html_txt(b, title);
        bd_buf_puts(b, "</title>");
        bd_buf_printf(b,
                      "<line class=\"axis\" x1=\"30\" y1=\"%d\" x2=\"%d\" "
                      "y2=\"%d\"/>",
                      base, W - 4, base);
        for (size_t i = 0; i < n; i++) {
                int x0 = 34 + (int)i * col_w;
                for (int p = 0; p < BD_CHART_PARTS; p++) {
                        long long v = bars[i].v[p] > 0 ? bars[i].v[p] : 0;
                        double hgt = (double)plot_h * (double)v / (double)max;
                        bd_buf_puts(b, "<rect class=\"");
                        bd_html_attr(b, part_class[p]);
                        bd_buf_printf(b,
                                      "\" x=\"%d\" y=\"%.1f\" "
                                      "width=\"%d\" height=\"%.1f\">"
                                      "<title>",
                                      x0 + p * bar_w, base - hgt, bar_w - 1,
                                      hgt);
                        bd_html_txt(b, bars[i].label);
                        bd_buf_puts(b, " ");
                        bd_html_txt(b, part_name[p]);
                        bd_buf_printf(b, " %lld</title></rect>", v);
                }
                bd_buf_printf(b,
                              "<text class=\"tick\" x=\"%d\" y=\"%d\" "
                              "text-anchor=\"middle\">",
                              x0 + col_w / 2 - 3, base + 14);
                bd_html_txt(b, bars[i].label);
                bd_buf_puts(b, "</text>");
        }
        bd_buf_printf(b, "<text class=\"tick\" x=\"2\" y=\"%d\">%lld</text>",
                      top + 4, max);
        legend(b, base + 30, part_class, part_name);
        bd_buf_puts(b, "</svg>");
}
