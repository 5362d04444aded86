/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/flattener.c: start the fastsnap-flatten helper, hand it one
 * image, relay its progress, and stop it when the run is canceled or the
 * helper goes silent past the Ceph operation timeout (see flattener.h;
 * the protocol is in src/helper/fastsnap-flatten.c). One socket pair is
 * the helper's standard input and output: a helper that died is an error
 * on send (MSG_NOSIGNAL), never a SIGPIPE in the caller's process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clients/flattener.h"
#include "clients/rbd.h"
#include "core/child.h"

struct fs_flattener {
	pid_t pid;
	int pidfd;              /* signals go through it: never to a reused pid */
	int fd;                 /* our end of the socket pair */
	int ready;              /* "ready" was read */
	int sent;               /* it was given an image */
	int reaped;
	long stall_ms;          /* silence after which the helper is stuck; 0: none */
	long connect_ms;        /* its connection's bound, before "ready" */
	char buf[4096];
	size_t len;
	char *helper;           /* its path, for the log */
	const fs_logger *lg;
};

/* Without a helper that serves, the flatten is the caller's, unbounded. */
static void warn_in_process(const fs_logger *lg, const char *helper, const char *why)
{
	fs_log(lg, FASTSNAP_LOG_WARN, "flatten helper %s: %s: flattening in this process, where a "
		"stuck OSD is not bounded", helper, why);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int fs_flattener_env_keeps(const char *entry)
{
	static const char *const names[] = { "PATH=", "HOME=", "LANG=", "LANGUAGE=", "TZ=",
		"TMPDIR=", "CEPH_CONF=", "CEPH_ARGS=", "LD_LIBRARY_PATH=", "LD_PRELOAD=",
		"ASAN_OPTIONS=", "LSAN_OPTIONS=", "UBSAN_OPTIONS=", "TSAN_OPTIONS=" };
	static const char *const prefixes[] = { "LC_", "VALGRIND_",
#ifdef FASTSNAP_TEST_HOOKS
		"FASTSNAP_TEST_HELPER_",   /* test builds: the helper's own hook */
#endif
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(entry, names[i], strlen(names[i])))
			return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(entry, prefixes[i], strlen(prefixes[i])) && strchr(entry, '='))
			return 1;
	return 0;
}

static int spawn(fs_flattener *f, const char *helper, const fs_ceph_params *p, int child_fd)
{
	char **envp = fs_child_env(fs_flattener_env_keeps);
	if (!envp)
		return ENOMEM;
	char op[32], ct[32];
	snprintf(op, sizeof(op), "%ld", p->op_timeout_s);
	snprintf(ct, sizeof(ct), "%ld", p->connect_timeout_ms);
	const char *argv[14] = { helper, "--user", p->user, "--op-timeout", op,
		"--connect-timeout-ms", ct };
	int n = 7;
	if (p->conf) {
		argv[n++] = "--conf";
		argv[n++] = p->conf;
	}
	if (p->keyring) {
		argv[n++] = "--keyring";
		argv[n++] = p->keyring;
	}
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, child_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, child_fd, 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	/* nothing else, no signal blocked, every handler at its default */
	fs_spawn_clean(&fa, &at, 0);
	int r = posix_spawn(&f->pid, helper, &fa, &at, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(envp);
	return r;
}

int fs_flattener_start(fs_flattener **out, const char *helper, fs_ceph *c, const fs_logger *lg)
{
	fs_ceph_params p;
	fs_ceph_params_get(c, &p);
	return fs_flattener_start_with(out, helper, &p, lg);
}

int fs_flattener_start_with(fs_flattener **out, const char *helper, const fs_ceph_params *pp,
	const fs_logger *lg)
{
	*out = NULL;
	if (!helper || !*helper || !strcmp(helper, "none"))
		return 0;
	fs_ceph_params p = *pp;
	fs_flattener *f = calloc(1, sizeof(*f));
	if (!f || !(f->helper = strdup(helper))) {
		free(f);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	f->lg = lg;
	f->stall_ms = p.op_timeout_s > 0 ? p.op_timeout_s * 1000 + 2000 : 0;
	f->connect_ms = (p.connect_timeout_ms > 0 ? p.connect_timeout_ms : 15000) + f->stall_ms;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(f->helper);
		free(f);
		return fs_err(fs_errno_to_code(-errno), "flatten helper: socketpair: %s", strerror(errno));
	}
	int r = spawn(f, helper, &p, sv[1]);
	close(sv[1]);
	if (r != 0) {
		close(sv[0]);
		free(f->helper);
		free(f);
		char why[160];
		snprintf(why, sizeof(why), "cannot be run (%s)", strerror(r));
		warn_in_process(lg, helper, why);
		return 0;
	}
	f->fd = sv[0];
	/* A host program that reaps children it did not start could free the
	 * pid; a pidfd still names this helper (or fails). */
	f->pidfd = pidfd_open(f->pid, 0);
	fs_log(lg, FASTSNAP_LOG_DEBUG, "flatten helper %s started (pid %ld)", helper, (long)f->pid);
	*out = f;
	return 0;
}

static void signal_helper(fs_flattener *f, int sig)
{
	if (f->pidfd >= 0)
		pidfd_send_signal(f->pidfd, sig, NULL, 0);
	else
		kill(f->pid, sig);
}

/* Wait for the helper's exit up to `ms`, then kill it. A pid reaped by
 * someone else (ECHILD) counts as done. */
static void reap(fs_flattener *f, long ms)
{
	if (f->reaped)
		return;
	int st;
	double end = now_ms() + (double)ms;
	while (waitpid(f->pid, &st, WNOHANG) == 0) {
		if (now_ms() >= end) {
			signal_helper(f, SIGKILL);
			waitpid(f->pid, &st, 0);
			break;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	f->reaped = 1;
}

/* After its answer the helper only closes its cluster connection; it
 * holds nothing of the run's, so a slow close is cut short. */
#define FS_HELPER_EXIT_MS 2000L

/* The next line from the helper into *line (NUL-terminated, in f->buf,
 * valid until the next call): 1, 0 when none came within `ms`, -1 at end
 * of stream or on an error. */
static int next_line(fs_flattener *f, char **line, int ms)
{
	for (;;) {
		char *nl = memchr(f->buf, '\n', f->len);
		if (nl) {
			*nl = '\0';
			*line = f->buf;
			return 1;
		}
		if (f->len == sizeof(f->buf) - 1)
			return -1;   /* a line longer than the protocol has */
		struct pollfd pfd = { f->fd, POLLIN, 0 };
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 0;
		ssize_t n = recv(f->fd, f->buf + f->len, sizeof(f->buf) - 1 - f->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		f->len += (size_t)n;
	}
}

/* Drop the line next_line returned. */
static void drop_line(fs_flattener *f)
{
	size_t n = strlen(f->buf) + 1;
	memmove(f->buf, f->buf + n, f->len - n);
	f->len -= n;
}

/* "error <code> <message>": the helper's error, made this thread's. */
static int helper_error(const char *line)
{
	char *end;
	long code = strtol(line + 6, &end, 10);
	if (code >= 0 || code < -1000)
		code = FASTSNAP_ECEPH;
	return fs_err((int)code, "%s", *end == ' ' ? end + 1 : end);
}

static int ended(fs_flattener *f, const char *pool, const char *image)
{
	reap(f, 0);
	if (!pool)
		return fs_err(FASTSNAP_ECEPH, "Ceph: the flatten helper ended before it was ready");
	return fs_err(FASTSNAP_ECEPH, "Ceph: flatten of %s/%s: the flatten helper ended without an "
		"answer", pool, image);
}

int fs_flattener_wait_ready(fs_flattener *f)
{
	double end = now_ms() + (double)f->connect_ms;
	while (!f->ready) {
		if (f->reaped)
			return ended(f, NULL, NULL);
		char *line;
		int r = next_line(f, &line, 100);
		if (r < 0)
			return ended(f, NULL, NULL);
		if (r == 1 && !strcmp(line, "ready"))
			f->ready = 1;
		else if (r == 1 && !strncmp(line, "error ", 6)) {
			int rc = helper_error(line);
			reap(f, FS_HELPER_EXIT_MS);
			return rc;
		}
		if (r == 1)
			drop_line(f);
		if (!f->ready && now_ms() >= end) {
			reap(f, 0);
			return fs_err(FASTSNAP_ETIMEOUT, "Ceph: the flatten helper did not connect within "
				"%ld ms", f->connect_ms);
		}
	}
	return 0;
}

void fs_flattener_ready_or_drop(fs_flattener **f)
{
	if (!*f || fs_flattener_wait_ready(*f) == 0)
		return;
	warn_in_process((*f)->lg, (*f)->helper, fastsnap_error_last());
	fastsnap_error_clear();
	fs_flattener_free(*f);
	*f = NULL;
}

static int canceled_err(const char *pool, const char *image)
{
	return fs_err(FASTSNAP_ECANCELED, "flatten of %s/%s canceled", pool, image);
}

/* rebuild: the helper corrects the object map first (gc's flatten). */
static int run(fs_flattener *f, const char *pool, const char *image, unsigned int heartbeat_s,
	int rebuild, int (*cb)(uint64_t done, uint64_t total, void *ctx), int (*canceled)(void *ctx),
	void *ctx)
{
	if (f->sent)
		return fs_err(FASTSNAP_EINVAL, "flatten helper: used twice");
	int rc = fs_flattener_wait_ready(f);
	if (rc < 0)
		return rc;
	char req[1200];
	int n = snprintf(req, sizeof(req), "flatten\t%s\t%s\t%u%s\n", pool, image, heartbeat_s,
		rebuild ? "\trebuild" : "");
	if (n < 0 || (size_t)n >= sizeof(req) || strchr(pool, '\t') || strchr(image, '\t'))
		return fs_err(FASTSNAP_EINVAL, "flatten of %s/%s: name too long for the helper", pool, image);
	f->sent = 1;
	if (send(f->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return ended(f, pool, image);
	double last = now_ms();
	int stopping = 0;
	for (;;) {
		char *line;
		int r = next_line(f, &line, 100);
		if (r < 0)
			return stopping ? canceled_err(pool, image) : ended(f, pool, image);
		if (r == 1) {
			last = now_ms();
			unsigned long long done, total;
			if (!strcmp(line, "done")) {
				drop_line(f);
				return 0;
			}
			if (!strncmp(line, "error ", 6)) {
				rc = helper_error(line);
				reap(f, FS_HELPER_EXIT_MS);
				return stopping ? canceled_err(pool, image) : rc;
			}
			if (sscanf(line, "progress %llu %llu", &done, &total) == 2 && !stopping && cb &&
			    cb(done, total, ctx))
				stopping = 1;
			drop_line(f);
		}
		if (!stopping && canceled && canceled(ctx))
			stopping = 1;
		if (stopping == 1) {
			/* it stops at the next object and closes the clone cleanly */
			signal_helper(f, SIGTERM);
			stopping = 2;
		}
		if (f->stall_ms && now_ms() - last > (double)f->stall_ms) {
			reap(f, 0);
			if (stopping)
				return canceled_err(pool, image);
			return fs_err(FASTSNAP_ETIMEOUT, "Ceph: flatten of %s/%s timed out: no object was "
				"copied for %ld s (the cluster did not answer within the Ceph operation timeout, "
				"[fastsnap] ceph_op_timeout_s / FASTSNAP_CEPH_OP_TIMEOUT_S); the flatten was stopped",
				pool, image, f->stall_ms / 1000);
		}
	}
}

int fs_flattener_run(fs_flattener *f, const char *pool, const char *image, unsigned int heartbeat_s,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), int (*canceled)(void *ctx), void *ctx)
{
	return run(f, pool, image, heartbeat_s, 0, cb, canceled, ctx);
}

int fs_flattener_finish(fs_flattener *f, const char *pool, const char *image,
	unsigned int heartbeat_s)
{
	return run(f, pool, image, heartbeat_s, 1, NULL, NULL, NULL);
}

void fs_flattener_free(fs_flattener *f)
{
	if (!f)
		return;
	/* Answered: it is closing its cluster connection (2 s, then killed).
	 * Never given an image: it holds nothing, and is killed at once. */
	shutdown(f->fd, SHUT_WR);
	reap(f, f->sent ? FS_HELPER_EXIT_MS : 0);
	close(f->fd);
	if (f->pidfd >= 0)
		close(f->pidfd);
	free(f->helper);
	free(f);
}
