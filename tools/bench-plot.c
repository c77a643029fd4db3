/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-plot.c - uacce-bench --plot: the results as an SVG (bench-plot.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench-plot.h"

#define W	1000	/* the picture */
#define H	(TOP + PH + 62 + 15 * 8)
#define PW	380	/* a panel's plot area */
#define PH	300
#define TOP	80

static const char *const colour[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
				      "#8c564b", "#e377c2", "#17becf" };
#define NCOLOUR	(sizeof(colour) / sizeof(colour[0]))

/* text with &, <, >, " escaped */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* a round axis maximum >= v: 1, 2 or 5 times a power of ten */
static double nice_max(double v)
{
	double p;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static void frame(FILE *f, int x0, const char *title, const char *xlabel, const char *ylabel)
{
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		   "stroke=\"#444\"/>\n", x0, TOP, PW, PH);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">", x0 + PW / 2,
		TOP - 12);
	put_text(f, title);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x0 + PW / 2,
		TOP + PH + 38);
	put_text(f, xlabel);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
		   "transform=\"rotate(-90 %d %d)\">", x0 - 48, TOP + PH / 2, x0 - 48, TOP + PH / 2);
	put_text(f, ylabel);
	fputs("</text>\n", f);
}

static void none(FILE *f, int x0)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">not measured"
		   "</text>\n", x0 + PW / 2, TOP + PH / 2);
}

static void legend(FILE *f, int x0, int i, const char *label)
{
	int y = TOP + PH + 62 + 15 * i;	/* under the panel */

	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
		   "stroke-width=\"2\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"11\">",
		x0 + 8, y - 4, x0 + 28, y - 4, colour[i % NCOLOUR], x0 + 32, y);
	put_text(f, label);
	fputs("</text>\n", f);
}

static void throughput(FILE *f, int x0, const struct plot_series *s, int n)
{
	double xmax = 1, ymax = 0;
	int shown = 0;

	frame(f, x0, "Compression throughput", "queues (device) or threads (in-process)",
	      "MB/s of input");
	for (int i = 0; i < n; i++)
		for (int k = 0; k < s[i].n; k++) {
			xmax = s[i].x[k] > xmax ? s[i].x[k] : xmax;
			ymax = s[i].y[k] > ymax ? s[i].y[k] : ymax;
		}
	if (ymax <= 0) {
		none(f, x0);
		return;
	}
	ymax = nice_max(ymax * 1.05);
	xmax = xmax < 2 ? 2 : xmax;
	for (int t = 0; t <= 4; t++) {		/* y ticks */
		double y = TOP + PH - PH * t / 4.0;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%g</text>\n",
			x0, y, x0 + PW, y, x0 - 4, y + 4, ymax * t / 4);
	}
	for (int q = 1; q <= (int)xmax; q++) {	/* x ticks: whole counts */
		double x = x0 + 30 + (PW - 60) * (q - 1) / (xmax - 1);

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%d"
			   "</text>\n", x, TOP + PH + 16, q);
	}
	for (int i = 0; i < n; i++) {
		if (!s[i].n)
			continue;
		fprintf(f, "<g id=\"%s\" fill=\"%s\" stroke=\"%s\"><title>", s[i].id,
			colour[shown % NCOLOUR], colour[shown % NCOLOUR]);
		put_text(f, s[i].label);
		fprintf(f, "</title>\n<polyline id=\"%s-line\" fill=\"none\" stroke-width=\"2\" "
			   "points=\"", s[i].id);
		for (int k = 0; k < s[i].n; k++)
			fprintf(f, "%s%.1f,%.1f", k ? " " : "",
				x0 + 30 + (PW - 60) * (s[i].x[k] - 1) / (xmax - 1),
				TOP + PH - PH * s[i].y[k] / ymax);
		fputs("\"/>\n", f);
		for (int k = 0; k < s[i].n; k++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%.1f MB/s</title>"
				   "</circle>\n", x0 + 30 + (PW - 60) * (s[i].x[k] - 1) / (xmax - 1),
				TOP + PH - PH * s[i].y[k] / ymax, s[i].y[k]);
		fputs("</g>\n", f);
		legend(f, x0, shown++, s[i].label);
	}
}

static void latency(FILE *f, int x0, const struct plot_cdf *c, int n)
{
	double lo = INFINITY, hi = 0;
	int d0, d1, shown = 0;

	frame(f, x0, "4 KiB round-trip latency", "microseconds (log scale)",
	      "requests at most this slow (%)");
	for (int i = 0; i < n; i++)
		if (c[i].q)
			for (int k = 0; k < PLOT_QUANTILES; k++)
				if (c[i].q[k] > 0) {
					lo = c[i].q[k] < lo ? c[i].q[k] : lo;
					hi = c[i].q[k] > hi ? c[i].q[k] : hi;
				}
	if (hi <= 0) {
		none(f, x0);
		return;
	}
	d0 = (int)floor(log10(lo));
	d1 = (int)ceil(log10(hi));
	if (d1 <= d0)
		d1 = d0 + 1;
#define LX(v)	(x0 + PW * (log10(v) - d0) / (d1 - d0))
	for (int d = d0; d <= d1; d++)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n"
			   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%g</text>\n",
			LX(pow(10, d)), TOP, LX(pow(10, d)), TOP + PH, LX(pow(10, d)), TOP + PH + 16,
			pow(10, d));
	for (int t = 0; t <= 4; t++)
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%d</text>\n",
			x0 - 4, TOP + PH - PH * t / 4.0 + 4, 25 * t);
	for (int i = 0; i < n; i++) {
		if (!c[i].q)
			continue;
		fprintf(f, "<g id=\"%s\"><title>", c[i].id);
		put_text(f, c[i].label);
		fprintf(f, ": p50 %.2f us, p99 %.2f us</title>\n<polyline id=\"%s-line\" fill=\"none\" "
			   "stroke=\"%s\" stroke-width=\"2\" points=\"", c[i].q[50], c[i].q[99], c[i].id,
			colour[shown % NCOLOUR]);
		for (int k = 0; k < PLOT_QUANTILES; k++)
			fprintf(f, "%s%.1f,%.1f", k ? " " : "", LX(c[i].q[k] > 0 ? c[i].q[k] : lo),
				TOP + PH - PH * k / 100.0);
		fputs("\"/>\n</g>\n", f);
		legend(f, x0, shown++, c[i].label);
	}
#undef LX
}

int bench_plot_svg(const char *path, const char *subtitle, const struct plot_series *tp, int ntp,
		   const struct plot_cdf *lat, int nlat)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		   "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
		   "font-weight=\"bold\">uacce-bench</text>\n<text x=\"%d\" y=\"44\" "
		   "text-anchor=\"middle\" font-size=\"12\" fill=\"#444\">", W, H, W, H, W / 2, W / 2);
	put_text(f, subtitle);
	fputs("</text>\n", f);
	throughput(f, 80, tp, ntp);
	latency(f, 80 + PW + 130, lat, nlat);
	fputs("</svg>\n", f);
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}
