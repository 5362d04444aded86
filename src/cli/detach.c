/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/detach.c: --detach (see detach.h). The child writes one line to the
 * parent: "ACTIVE <id> <seconds>" or "ERROR <message>".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli/detach.h"

static void tell(cli_detach *d, const char *line)
{
	if (d->fd < 0)
		return;
	ssize_t w = write(d->fd, line, strlen(line));
	(void)w;
	close(d->fd);
	d->fd = -1;
}

void cli_detach_active(const char *image_id, void *payload)
{
	cli_detach *d = payload;
	char line[256];
	snprintf(line, sizeof(line), "ACTIVE %s %.3f\n", image_id, cli_now() - d->t0);
	tell(d, line);
}

void cli_detach_error(cli_detach *d, const char *msg)
{
	char line[1100];
	snprintf(line, sizeof(line), "ERROR %s\n", msg);
	tell(d, line);
}

const char *cli_state_dir(void)
{
	const char *d = getenv("FASTSNAP_STATE_DIR");
	return d && *d ? d : "/var/lib/fastsnap";
}

/* mkdir -p, mode 0700. */
static int make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

void cli_detach_record(const char *image_id, const char *json, int ok)
{
	openlog("fastsnap", LOG_PID, LOG_USER);
	syslog(ok ? LOG_INFO : LOG_ERR, "detached snapshot %s %s", image_id ? image_id : "(none)",
		ok ? "completed" : "failed; see fastsnap status");
	closelog();
	if (!image_id)
		return;
	char dir[4096], path[4200], tmp[4300];
	snprintf(dir, sizeof(dir), "%s/runs", cli_state_dir());
	snprintf(path, sizeof(path), "%s/%s.json", dir, image_id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (make_dirs(dir) < 0)
		return;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t n = strlen(json);
	int bad = write(fd, json, n) != (ssize_t)n || write(fd, "\n", 1) != 1;
	bad |= close(fd) != 0;
	if (!bad)
		rename(tmp, path);
	else
		unlink(tmp);
}

/* Read from fd into line[*n..] until a newline or EOF, or until `end`
 * (cli_now()); 1 when a line or EOF came, 0 at the deadline. */
static int read_until(int fd, char *line, size_t cap, size_t *n, double end)
{
	for (;;) {
		if (memchr(line, '\n', *n) || *n >= cap - 1)
			return 1;
		double left = end - cli_now();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, left > 1000 ? 1000000 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			return 1;
		if (r <= 0)
			continue;
		ssize_t k = read(fd, line + *n, cap - 1 - *n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 1;
		*n += (size_t)k;
		line[*n] = '\0';
	}
}

/* The child said nothing within the bound: stop it (SIGTERM: it cancels and
 * cleans up, as after a signal) and wait a further bounded time for it. */
static int stop_child(global_opts *g, int fd, pid_t child, long timeout_s, char *line,
	size_t cap, size_t *n)
{
	kill(child, SIGTERM);
	int ended = read_until(fd, line, cap, n, cli_now() + CLI_DETACH_STOP_GRACE_S);
	close(fd);
	int gone = ended && waitpid(child, NULL, WNOHANG) == child;
	if (ended && !gone) {
		/* EOF came: its exit follows at once */
		for (int i = 0; i < 100 && !gone; i++) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
			gone = waitpid(child, NULL, WNOHANG) == child;
		}
	}
	/* the child's own last word, when it came: what its clean-up did */
	line[strcspn(line, "\n")] = '\0';
	const char *said = strncmp(line, "ERROR ", 6) == 0 ? line + 6 : NULL;
	char msg[2400];    /* the text below plus the child's line (< 2 KiB) */
	snprintf(msg, sizeof(msg), "the background run (pid %ld) did not report the image active "
		"within %ld s (--detach-timeout): %s%.2047s", (long)child, timeout_s, !gone ?
		"it was sent SIGTERM and is still cleaning up; what it leaves is fastsnap gc's" :
		said ? "it was stopped (SIGTERM): " : "it was stopped (SIGTERM) and has ended",
		gone && said ? said : "");
	cli_error(g, msg, 0);
	return EXIT_FAIL;
}

/* Parent side: wait (at most timeout_s) for the child's first line and
 * report it. */
static int wait_child(global_opts *g, int fd, pid_t child, long timeout_s)
{
	char line[2048] = "";
	size_t n = 0;
	if (!read_until(fd, line, sizeof(line), &n, cli_now() + (double)timeout_s))
		return stop_child(g, fd, child, timeout_s, line, sizeof(line), &n);
	close(fd);
	char id[128];
	double active = 0;
	if (sscanf(line, "ACTIVE %127s %lf", id, &active) == 2) {
		if (g->json)
			printf("{\"image_id\":\"%s\",\"detached\":true,\"pid\":%ld,\"active_seconds\":%.3f}\n",
				id, (long)child, active);
		else if (!g->quiet)
			printf("image    %s (active after %.2f s; pid %ld finishes in the background)\n", id,
				active, (long)child);
		return 0;
	}
	/* The child failed before the image was active: it is done, reap it. */
	waitpid(child, NULL, 0);
	line[strcspn(line, "\n")] = '\0';
	const char *msg = strncmp(line, "ERROR ", 6) == 0 ? line + 6 :
		"the background run ended before the image was active";
	cli_error(g, msg, 0);
	return EXIT_FAIL;
}

static void become_background(void)
{
	setsid();
	signal(SIGHUP, SIG_IGN);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

int cli_detach_fork(cli_detach *d, global_opts *g, long timeout_s)
{
	d->t0 = cli_now();
	d->fd = -1;
	int p[2];
	/* close-on-exec: no hook or helper of the child holds the parent's wait */
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("fastsnap: pipe");
		return EXIT_FAIL;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		perror("fastsnap: fork");
		return EXIT_FAIL;
	}
	if (child > 0) {
		close(p[1]);
		return wait_child(g, p[0], child, timeout_s);
	}
	close(p[0]);
	become_background();
	d->fd = p[1];
	g->json = 0;
	g->quiet = 1;
	return -1;
}
