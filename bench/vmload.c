/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The workload `make bench-vm` runs inside a container and inside a
 * micro-VM, built static so the same binary runs in both:
 *
 *   vmload getpid N        N getpid() syscalls; prints "getpid_ns <ns per call>"
 *   vmload io PATH MIB     writes MIB MiB to PATH (fsync), reads it back;
 *                          prints "write_mibs <MiB/s>" and "read_mibs <MiB/s>"
 *
 * Timing is taken inside, with CLOCK_MONOTONIC, so the number does not
 * include starting the container or the guest.  The read follows a
 * posix_fadvise(DONTNEED) so it comes from the filesystem (the host's page
 * cache for 9p), not from the guest's own cache.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_getpid(long n)
{
	double t0 = now();
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid); /* not glibc's getpid(): no caching, a real syscall */
	printf("getpid_ns %.1f\n", (now() - t0) * 1e9 / (double)n);
	return 0;
}

static int write_file(const char *path, long mib, char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return perror(path), -1;
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, CHUNK) != CHUNK)
			return perror("write"), close(fd), -1;
	if (fsync(fd) < 0)
		perror("fsync");
	return close(fd);
}

static int read_file(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return perror(path), -1;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (ssize_t n; (n = read(fd, buf, CHUNK)) != 0;)
		if (n < 0)
			return perror("read"), close(fd), -1;
	return close(fd);
}

static int bench_io(const char *path, long mib)
{
	char *buf = malloc(CHUNK);
	if (!buf)
		return 1;
	memset(buf, 0x5a, CHUNK);
	double t0 = now();
	if (write_file(path, mib, buf) < 0)
		return 1;
	double t1 = now();
	if (read_file(path, buf) < 0)
		return 1;
	double t2 = now();
	unlink(path);
	free(buf);
	printf("write_mibs %.1f\nread_mibs %.1f\n", (double)mib / (t1 - t0), (double)mib / (t2 - t1));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "getpid"))
		return bench_getpid(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "io"))
		return bench_io(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: vmload getpid N | vmload io PATH MIB\n");
	return 2;
}
