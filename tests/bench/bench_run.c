/*
 * bench_run.c: the measuring helper of the bench scripts (not a test, not
 * installed).
 *
 *   bench_run [-c] [-o file] [--] command [arg ...]
 *
 * Runs the command with its standard output into a pipe that bench_run
 * drains, as a reader downstream would (a write to /dev/null costs nothing,
 * a write to a pipe does not), and prints one line on its own standard
 * output:
 *
 *   cpu_s wall_s maxrss_kb bytes lines status [hash]
 *
 * cpu_s is the command's user + system time from wait4(2) (microsecond
 * resolution, every thread of the process counted; not the 10 ms steps of
 * GNU time's output), wall_s the elapsed time, maxrss_kb its peak resident
 * set, bytes and lines what it wrote, status its exit status (128 + signal
 * when killed).  With -c, hash is a 64-bit digest of the output (to tell
 * whether two builds write the same bytes without keeping them); with -o
 * the output is also written to file.  Standard input and error are the
 * command's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fold bytes p[0..n) (at offset off of the stream) into h: each byte
 * multiplied in with its position, so where a read splits the stream does
 * not matter.  Not cryptographic: it tells two builds' outputs apart. */
static uint64_t
digest(uint64_t h, const char *p, size_t n, unsigned long long off)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (uint64_t)(unsigned char)p[i] + ((off + i) << 8);
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *outfile = NULL;
	int ch, pfd[2], ofd = -1;
	bool hash = false;
	static char buf[1 << 16];

	while ((ch = getopt(argc, argv, "+co:")) != -1) {
		switch (ch) {
		case 'c':
			hash = true;
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_run [-c] [-o file] [--] command [arg ...]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fprintf(stderr, "usage: bench_run [-c] [-o file] [--] command [arg ...]\n");
		return 2;
	}
	if (outfile != NULL &&
	    (ofd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		perror(outfile);
		return 1;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		perror("pipe2");
		return 1;
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "bench_run: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	unsigned long long bytes = 0, lines = 0;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (;;) {
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("read");
			break;
		}
		if (n == 0)
			break;
		if (hash)
			h = digest(h, buf, (size_t)n, bytes);
		bytes += (unsigned long long)n;
		for (const char *p = buf, *e = buf + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
			lines++;
		if (ofd >= 0 && write_all(ofd, buf, (size_t)n) != 0) {
			perror(outfile);
			close(ofd);
			ofd = -1;
		}
	}
	close(pfd[0]);
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("wait4");
			return 1;
		}
	}
	double wall = now() - t0;
	if (ofd >= 0 && close(ofd) != 0)
		perror(outfile);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("%.6f %.6f %ld %llu %llu %d", cpu, wall, ru.ru_maxrss, bytes, lines, status);
	if (hash)
		printf(" %016llx", (unsigned long long)(h ^ bytes));
	printf("\n");
	return 0;
}
