/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/report.h: what fastsnap-bench writes from its records (report.c):
 * results.json, results.csv, results.md, the plots, and the --summary.
 */
#ifndef FSB_REPORT_H
#define FSB_REPORT_H

#include <stdio.h>

#include <cjson/cJSON.h>

void fsb_report(cJSON *run, cJSON *records, const char *outdir, int plots);
/* a few lines: fastsnap's cells against the baselines, from the medians */
void fsb_summary(FILE *f, cJSON *run, cJSON *records);

#endif
