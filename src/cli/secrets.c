/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/secrets.c: how the command takes a token (a file or standard input,
 * the environment through the library, or argv with a warning) and keeps
 * its secrets out of core dumps. See docs/reliability.md, "Secrets".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"

void cli_refuse_core_dumps(void)
{
	/* The command, not the library: both are process-wide, and a program
	 * embedding the library decides them for itself (docs/embedding.md). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct rlimit rl;
	if (getrlimit(RLIMIT_CORE, &rl) == 0) {
		rl.rlim_cur = 0;
		setrlimit(RLIMIT_CORE, &rl);
	}
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void cli_secrets_free(global_opts *g)
{
	wipe_free(g->os_token_owned);
	g->os_token_owned = NULL;
	g->os_token = NULL;
}

static int keep_token(global_opts *g, char *tok)
{
	wipe_free(g->os_token_owned);
	g->os_token_owned = tok;
	g->os_token = tok;
	return 0;
}

int cli_token_from_argv(global_opts *g, char *arg)
{
	fprintf(stderr, "%s: warning: --os-token puts the token on the command line, where other "
		"local users can read it (ps, /proc); use --os-token-file FILE (or -, standard input) "
		"or OS_AUTH_TOKEN\n", prog);
	char *tok = strdup(arg);
	if (!tok) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	/* blank it where /proc/PID/cmdline shows it (the instant before this
	 * stays visible: hence the warning) */
	memset(arg, 'x', strlen(arg));
	return keep_token(g, tok);
}

int cli_token_from_file(global_opts *g, const char *path)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: --os-token-file %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	/* a Keystone token is a few hundred bytes; a Fernet one under 300 */
	char buf[8192];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	if (fd != 0)
		close(fd);
	buf[n] = '\0';
	size_t len = strcspn(buf, "\r\n");
	int bad = len == 0 || len == sizeof(buf) - 1;
	char *tok = bad ? NULL : strndup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	if (bad) {
		fprintf(stderr, "%s: --os-token-file %s: %s\n", prog, path,
			len ? "the token is too long" : "no token in it");
		return -1;
	}
	if (!tok) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	return keep_token(g, tok);
}
