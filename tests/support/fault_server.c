/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/fault_server.c: runs tests/support/fault_server.py as a
 * child process (python3), reads the port it prints, and stops it by pid.
 * Also fetches a scenario's recorded state with a bare libcurl GET.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fault_server.h"

static char *script_path(void)
{
	const char *here = __FILE__;
	const char *slash = strrchr(here, '/');
	size_t n = slash ? (size_t)(slash - here) : 0;
	char *p = malloc(n + 32);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, here, n);
	else
		p[n++] = '.';
	strcpy(p + n, "/fault_server.py");
	return p;
}

int fs_test_fault_server_start(fs_fault_server *out)
{
	memset(out, 0, sizeof(*out));
	char *script = script_path();
	int fds[2];
	if (!script || pipe(fds) < 0) {
		free(script);
		fprintf(stderr, "fault server: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		free(script);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (access("/usr/bin/python3", X_OK) == 0)
			execl("/usr/bin/python3", "python3", script, "--ttl", "300", (char *)NULL);
		execlp("python3", "python3", script, "--ttl", "300", (char *)NULL);
		_exit(127);
	}
	free(script);
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[64] = "";
	int port = 0;
	if (f && fgets(line, sizeof(line), f))
		sscanf(line, "PORT %d", &port);
	if (f)
		fclose(f);
	else
		close(fds[0]);
	if (port <= 0) {
		fprintf(stderr, "fault server did not start (got '%s')\n", line);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	out->pid = pid;
	out->port = port;
	snprintf(out->base, sizeof(out->base), "http://127.0.0.1:%d", port);
	return 0;
}

void fs_test_fault_server_stop(fs_fault_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

char *fs_test_fault_url(const fs_fault_server *s, const char *scenario, const char *tag)
{
	size_t n = strlen(s->base) + strlen(scenario) + strlen(tag) + 8;
	char *u = malloc(n);
	if (u)
		snprintf(u, n, "%s/s/%s/%s", s->base, scenario, tag);
	return u;
}

typedef struct {
	char *p;
	size_t n;
} membuf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	membuf *m = ud;
	size_t k = size * nmemb;
	char *q = realloc(m->p, m->n + k + 1);
	if (!q)
		return 0;
	memcpy(q + m->n, ptr, k);
	m->n += k;
	q[m->n] = '\0';
	m->p = q;
	return k;
}

cJSON *fs_test_fault_state(const fs_fault_server *s, const char *scenario, const char *tag)
{
	char url[512];
	snprintf(url, sizeof(url), "%s/_state/%s/%s", s->base, scenario, tag);
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	membuf m = { NULL, 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	cJSON *j = rc == CURLE_OK && m.p ? cJSON_Parse(m.p) : NULL;
	free(m.p);
	return j;
}

void fs_test_unique_tag(char *out, size_t len, const char *prefix)
{
	static atomic_uint counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, len, "%s-%d-%ld-%u", prefix, (int)getpid(), (long)ts.tv_nsec,
		atomic_fetch_add(&counter, 1));
}

void fs_test_settings(fs_settings *s, const char *glance_url, int num_retries)
{
	memset(s, 0, sizeof(*s));
	s->glance_url = glance_url ? strdup(glance_url) : NULL;
	s->connect_timeout_ms = 2000;
	s->low_speed_time_s = 2;
	s->num_retries = num_retries;
	s->retry_base_ms = 10;   /* back-off in milliseconds, not seconds */
}
