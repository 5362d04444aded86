/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/signals.c: one thread takes SIGINT, SIGTERM and SIGHUP (see
 * signals.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/signals.h"

static atomic_int first_signal;
static fastsnap_cancel *cancel_token;
static sigset_t watched;

static void *signal_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int sig = 0;
		if (sigwait(&watched, &sig) != 0)
			continue;
		int expected = 0;
		if (atomic_compare_exchange_strong(&first_signal, &expected, sig)) {
			fprintf(stderr, "%s: %s: canceling and cleaning up (a second signal exits at once)\n",
				prog, strsignal(sig));
			fastsnap_cancel_request(cancel_token);
			continue;
		}
		fprintf(stderr, "%s: %s again: exiting now; what this run made is left for "
			"'fastsnap gc'\n", prog, strsignal(sig));
		fflush(stderr);
		_exit(128 + atomic_load(&first_signal));
	}
	return NULL;
}

int cli_signals_start(fastsnap_cancel *token, int take_hup)
{
	cancel_token = token;
	sigemptyset(&watched);
	sigaddset(&watched, SIGINT);
	sigaddset(&watched, SIGTERM);
	if (take_hup)
		sigaddset(&watched, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &watched, NULL) != 0)
		return -1;
	pthread_t t;
	if (pthread_create(&t, NULL, signal_thread, NULL) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

int cli_signals_caught(void)
{
	return atomic_load(&first_signal);
}
