/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/runner.h: running the cells of fastsnap-bench (runner.c): each cell
 * in a child process (peak RSS and CPU from wait4), the OSD counters and
 * space figures around it, the free-space check, undoing what it made, the
 * disks' set-up, and the clean-up of everything the run made.
 */
#ifndef FSB_RUNNER_H
#define FSB_RUNNER_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "cells.h"

typedef struct {
	cJSON *records;       /* one record per cell run */
	cJSON *made_ids;      /* every Glance image id a cell made or was given */
	char workdir[512];    /* the run's scratch directory */
	int counting;         /* the first pass over the plan: count the cells only */
	int cell_no, cell_total;
	const char *only;     /* --only: run only cells whose name contains one of these */
} fsb_runner;

extern fsb_runner RUN;

/* a spec with these, N = 1 and everything else zero */
void fsb_spec_init(fsb_spec *s, const char *cell, const char *group, enum fsb_kind k, uint64_t size,
	const char *fill, int rep);
/* --only A,B,...: a cell runs when its name contains one of them */
int fsb_wanted(const char *cell);
/* run one cell (or count it); its record, or NULL when not run */
cJSON *fsb_run_cell(fsb_spec *s);
/* write N disks called PREFIX (N = 1) or PREFIX0.. in a child */
void fsb_setup_disks(uint64_t size, int sparse, const char *prefix, int n, const char *label);
/* remove everything named after this run; how many were still there */
int fsb_cleanup_all(cJSON *report);

#endif
