// SPDX-License-Identifier: MIT
/*
 * spawn: run one command (or N copies at once) and report its wall time and
 * the peak RSS that wait4() returns for it.
 *
 *   spawn [-t SECS] [-o LOG] [-p N] -- CMD [ARG...]
 *
 * Prints one line on stdout:  STATUS WALL_US MAXRSS_KB
 *   STATUS is "ok", "exit:N", "signal:N" or "timeout" (with -p: "ok" only
 *   when every copy succeeded, else the first failure and a count).
 *
 * Why a C helper and not Python's clock: the timed span is exactly
 * fork() .. wait4() return in a small static process, so the driver's own
 * interpreter overhead never lands in a sample, and it is the same for every
 * runtime and for the floor program.
 *
 * MAXRSS_KB is ru_maxrss of the wait4() rusage of the child.  On Linux that
 * rusage covers the child *and the descendants it waited for itself*
 * (RUSAGE_BOTH), so it is the largest single process among the runtime and
 * the helpers it reaped; processes it left running (a created container's
 * init) or that were reparented are not in it.  It is a maximum, not a sum.
 *
 * -p N starts N copies at once, replacing every "%d" in the arguments by the
 * copy's index (0..N-1); WALL_US is then first fork .. last exit and
 * MAXRSS_KB the largest of the copies.
 *
 * The child gets stdin from /dev/null and stdout+stderr appended to LOG
 * (default /dev/null).  spawn puts itself in a new session first so a Ctrl-C
 * at the terminal reaches only the driver, which stops between samples and
 * cleans up, instead of killing a runtime halfway through a create.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COPIES 1024

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/*
 * Replace the first "%d" in @arg by @idx (all the driver needs); returns a
 * new string, or @arg itself when it has none.
 */
static char *subst(const char *arg, int idx)
{
	const char *p = strstr(arg, "%d");
	char *out;

	if (!p)
		return (char *)arg;
	if (asprintf(&out, "%.*s%d%s", (int)(p - arg), arg, idx, p + 2) < 0)
		return NULL;
	return out;
}

static pid_t start_child(char **argv, int argc, int idx, int copies,
			 const char *log)
{
	pid_t pid = fork();

	if (pid > 0)
		setpgid(pid, pid);	/* also in the child: no race */
	if (pid != 0)
		return pid;

	/* -p: substitute "%d" here, in the child, so copies start sooner. */
	if (copies > 1) {
		char **nargv = calloc(argc + 1, sizeof(*nargv));

		if (!nargv)
			_exit(127);
		for (int i = 0; i < argc; i++) {
			nargv[i] = subst(argv[i], idx);
			if (!nargv[i])
				_exit(127);
		}
		argv = nargv;
	}

	/* Own process group, so a timeout can take its helpers down too. */
	setpgid(0, 0);

	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(127);
	signal(SIGALRM, SIG_DFL);
	execvp(argv[0], argv);
	fprintf(stderr, "spawn: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(buf, len, "ok");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit:%d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal:%d", WTERMSIG(status));
	else
		snprintf(buf, len, "unknown");
}

static void usage(void)
{
	fprintf(stderr,
		"usage: spawn [-t SECS] [-o LOG] [-p N] -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static pid_t pids[MAX_COPIES];
	const char *log = "/dev/null";
	unsigned int timeout = 0;
	int copies = 1, opt, running, failures = 0;
	char first_fail[64] = "";
	long maxrss = 0;
	long long t0, t1;
	struct sigaction sa = { .sa_handler = on_alarm };

	while ((opt = getopt(argc, argv, "+t:o:p:")) != -1) {
		switch (opt) {
		case 't':
			timeout = atoi(optarg);
			break;
		case 'o':
			log = optarg;
			break;
		case 'p':
			copies = atoi(optarg);
			if (copies < 1 || copies > MAX_COPIES)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	argv += optind;
	argc -= optind;

	/* Out of the terminal's foreground group: see the header comment. */
	setsid();

	/* No SA_RESTART: the alarm must interrupt wait4(). */
	sigaction(SIGALRM, &sa, NULL);

	t0 = now_us();
	for (int i = 0; i < copies; i++) {
		pids[i] = start_child(argv, argc, i, copies, log);
		if (pids[i] < 0) {
			perror("spawn: fork");
			copies = i;
			failures++;
			snprintf(first_fail, sizeof(first_fail), "fork");
			break;
		}
	}
	if (timeout)
		alarm(timeout);

	running = copies;
	while (running > 0) {
		struct rusage ru;
		int status;
		pid_t pid = wait4(-1, &status, 0, &ru);

		if (pid < 0) {
			if (errno == EINTR && timed_out) {
				/*
				 * Kill only what this program started: each
				 * child's own process group.  Containers that
				 * left it (setsid) are the driver's to delete.
				 */
				for (int i = 0; i < copies; i++)
					if (pids[i] > 0) {
						kill(-pids[i], SIGKILL);
						kill(pids[i], SIGKILL);
					}
				if (!first_fail[0])
					snprintf(first_fail, sizeof(first_fail),
						 "timeout");
				continue;
			}
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < copies; i++)
			if (pids[i] == pid)
				pids[i] = 0;
		running--;
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			failures++;
			if (!first_fail[0])
				describe(status, first_fail,
					 sizeof(first_fail));
		}
	}
	t1 = now_us();

	if (failures == 0)
		printf("ok %lld %ld\n", t1 - t0, maxrss);
	else if (copies > 1)
		printf("%s(%d/%d) %lld %ld\n", first_fail, failures, copies,
		       t1 - t0, maxrss);
	else
		printf("%s %lld %ld\n", first_fail, t1 - t0, maxrss);
	return failures ? 1 : 0;
}
