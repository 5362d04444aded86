/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/plan.h: the plan of fastsnap-bench's cells (plan.c): which cells run
 * for each disk size, fill and repeat, in which order, with which shell
 * commands for the baselines and limits.
 */
#ifndef FSB_PLAN_H
#define FSB_PLAN_H

/* upload the small base image the direct cells name (G.base); 0 or -1 */
int fsb_make_base(void);
/* every cell of the run, through fsb_run_cell (or counted, RUN.counting) */
void fsb_all_cells(void);

#endif
