/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-plot.h - uacce-bench --plot: one SVG file drawn from the results,
 * two panels: compression throughput (MB/s) per queue count (device) or
 * thread count (in-process codecs), one line per codec and level; the
 * distribution of the 4 KiB round-trip latencies (a CDF over a log time
 * axis), one line per path.  Each line is an SVG <polyline> whose id
 * names its series ("throughput-device_1q-level6" style ids are given by
 * the caller); the file needs no viewer beyond a web browser.
 */
#ifndef UACCE_BENCH_PLOT_H
#define UACCE_BENCH_PLOT_H

#define PLOT_MAX_POINTS	8
#define PLOT_QUANTILES	101	/* latency at 0, 1, ..., 100 percent */

struct plot_series {
	const char *id, *label;
	int n;				/* points; 0: not measured (left out) */
	double x[PLOT_MAX_POINTS], y[PLOT_MAX_POINTS];
};

struct plot_cdf {
	const char *id, *label;
	const double *q;		/* PLOT_QUANTILES latencies in us; NULL: not measured */
};

/* write the SVG to path (replaced); 0 or -errno */
int bench_plot_svg(const char *path, const char *subtitle, const struct plot_series *tp, int ntp,
		   const struct plot_cdf *lat, int nlat);

#endif
