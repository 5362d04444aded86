/* SPDX-License-Identifier: Apache-2.0 */
/*
 * helper/fastsnap-flatten.c: the flatten helper that clients/flattener.c
 * runs. librbd's flatten cannot be stopped from outside once an OSD stops
 * answering (docs/reliability.md, "Ceph faults mid-operation"); in a
 * process of its own it can be killed. Not a user command: it is installed
 * in fastsnap's libexec directory and speaks a line protocol on its
 * standard input and output (docs/architecture.md, "The flatten helper"):
 *
 *   fastsnap-flatten --user U [--conf F] [--keyring K] [--op-timeout S]
 *                    [--connect-timeout-ms MS]
 *   out: "ready" once connected (or "error <code> <message>" and exit 1)
 *   in:  "flatten\t<pool>\t<image>\t<heartbeat seconds>[\trebuild]"
 *        (rebuild: correct the object map first, for gc's flatten of
 *        an interrupted one; docs/architecture.md)
 *   out: "progress <done> <total>" (bytes) as objects complete, then
 *        "done" (exit 0) or "error <code> <message>" (exit 1)
 *
 * While it flattens it refreshes the clone's heartbeat through its own
 * handle, which owns the exclusive lock. SIGTERM stops the flatten at the
 * next object (the run was canceled); a stuck one is SIGKILLed by the
 * parent, and it dies with its parent.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cleanup/heartbeat.h"
#include "clients/ceph.h"
#include "clients/rbd.h"

static int say_error(void)
{
	printf("error %d %s\n", fastsnap_error_last_code(), fastsnap_error_last());
	fflush(stdout);
	return 1;
}

/* SIGTERM: the run was canceled; stop at the next object, close cleanly
 * (releasing the clone's lock) and exit. */
static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int progress(uint64_t done, uint64_t total, void *ctx)
{
	(void)ctx;
	printf("progress %llu %llu\n", (unsigned long long)done, (unsigned long long)total);
	return fflush(stdout) != 0 || stop;   /* the parent is gone, or asks to stop */
}

/* "flatten\t<pool>\t<image>\t<heartbeat s>[\trebuild]": splits `line` in
 * place. */
static int parse_request(char *line, char **pool, char **image, unsigned int *hb_s, int *rebuild)
{
	line[strcspn(line, "\n")] = '\0';
	char *f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = strsep(&line, "\t");
		if (!f[i])
			return -1;
	}
	*rebuild = 0;
	if (line) {
		if (strcmp(line, "rebuild") != 0)
			return -1;
		*rebuild = 1;
	}
	if (strcmp(f[0], "flatten") != 0 || !*f[1] || !*f[2])
		return -1;
	*pool = f[1];
	*image = f[2];
	*hb_s = (unsigned int)strtoul(f[3], NULL, 10);
	return 0;
}

static int flatten(fs_ceph *c, char *line)
{
	char *pool, *image;
	unsigned int hb_s;
	int rebuild;
	if (parse_request(line, &pool, &image, &hb_s, &rebuild) < 0) {
		fs_err(FASTSNAP_EINVAL, "flatten helper: malformed request");
		return say_error();
	}
	fs_rbd_image h;
	if (fs_rbd_image_open(&h, c, pool, image) < 0)
		return say_error();
	/* before the heartbeat takes the lock (and loads the map) */
	int r = rebuild ? fs_rbd_image_unmark_absent(&h, progress, NULL) : 0;
	if (r < 0) {
		fs_rbd_image_close(&h);
		return say_error();
	}
#ifdef FASTSNAP_TEST_HOOKS
	/* Test builds: a command between the correction and the lock, where a
	 * dead run's late operation would land (tests/integration/test_crash.c,
	 * deferred_flatten_late_object_map_update_of_a_dead_client). */
	const char *cmd = getenv("FASTSNAP_TEST_HELPER_AFTER_REBUILD");
	if (rebuild && cmd && *cmd) {
		int st = system(cmd);
		(void)st;
	}
#endif
	fs_heartbeat *hb = hb_s ? fs_heartbeat_start(c, pool, image, h.img, hb_s, NULL) :
		NULL;
	fastsnap_error_clear();   /* no heartbeat is not a failure (the run logs nothing of it) */
	r = fs_rbd_image_flatten(&h, progress, NULL);
	fs_heartbeat_stop(hb, 0);
	/* Closed before the answer: the run's next step takes the lock. */
	fs_rbd_image_close(&h);
	if (r < 0)
		return say_error();
	printf("done\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	/* Killed with the run (the thread that started it); a parent gone
	 * before this line closed the socket: fgets below ends it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* A terminal's ^C reaches the whole process group: the run cancels
	 * and stops this helper itself. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	close_range(3, ~0U, 0);   /* nothing of the parent's but the socket */
	const char *conf = NULL, *user = NULL, *keyring = NULL;
	long op_timeout_s = 0, connect_ms = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--conf"))
			conf = argv[i + 1];
		else if (!strcmp(argv[i], "--user"))
			user = argv[i + 1];
		else if (!strcmp(argv[i], "--keyring"))
			keyring = argv[i + 1];
		else if (!strcmp(argv[i], "--op-timeout"))
			op_timeout_s = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--connect-timeout-ms"))
			connect_ms = atol(argv[i + 1]);
	}
	if (argc < 3 || (argc - 1) % 2 || !user) {
		fprintf(stderr, "fastsnap-flatten: a helper of libfastsnap, not a command "
			"(docs/architecture.md)\n");
		return 2;
	}
	fs_ceph *c = NULL;
	if (fs_ceph_connect(&c, conf, user, keyring, op_timeout_s, connect_ms, NULL) < 0)
		return say_error();
	printf("ready\n");
	fflush(stdout);
	char line[2048];
	int rc = 1;
	if (fgets(line, sizeof(line), stdin))
		rc = flatten(c, line);
	fs_ceph_close(c);
	return rc;
}
