/* cepoll: a benchmark-only echo server, the floor for perf/compare-servers.
 * One process, one thread per CPU (argv[2], default 2), each with its own
 * epoll set and an SO_REUSEPORT listener; level-triggered, one 64 KiB read
 * per readiness event, written back at once, the rest kept and written on
 * EPOLLOUT. No error reporting beyond closing the connection.
 *
 *   cepoll PORT [THREADS]      (listens on 127.0.0.1 only)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define MAXFD 65536

struct pend { char *p; size_t off, len; };
static struct pend *pending[MAXFD];
static int port;

static int listener(void) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) { perror("listen"); exit(1); }
	return fd;
}

static void drop(int ep, int fd) {
	if (pending[fd]) { free(pending[fd]->p); free(pending[fd]); pending[fd] = NULL; }
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static void *loop(void *arg) {
	(void)arg;
	int ep = epoll_create1(EPOLL_CLOEXEC), lfd = listener(), one = 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[256];
	char *buf = malloc(BUF);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (c < 0 || c >= MAXFD) { if (c >= 0) close(c); continue; }
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				continue;
			}
			struct pend *q = pending[fd];
			if (q) { /* EPOLLOUT: write what is left */
				ssize_t w = write(fd, q->p + q->off, q->len - q->off);
				if (w < 0 && errno != EAGAIN) { drop(ep, fd); continue; }
				if (w > 0) q->off += w;
				if (q->off == q->len) {
					free(q->p); free(q); pending[fd] = NULL;
					struct epoll_event ce = { .events = EPOLLIN, .data.fd = fd };
					epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
				}
				continue;
			}
			ssize_t r = read(fd, buf, BUF);
			if (r < 0 && errno == EAGAIN) continue;
			if (r <= 0) { drop(ep, fd); continue; }
			ssize_t w = write(fd, buf, r);
			if (w < 0 && errno != EAGAIN) { drop(ep, fd); continue; }
			if (w < 0) w = 0;
			if (w < r) { /* keep the rest, stop reading until it is written */
				q = malloc(sizeof *q);
				q->len = r - w; q->off = 0; q->p = malloc(q->len);
				memcpy(q->p, buf + w, q->len);
				pending[fd] = q;
				struct epoll_event ce = { .events = EPOLLOUT, .data.fd = fd };
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: cepoll PORT [THREADS]\n"); return 2; }
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an EPIPE, not the end */
	port = atoi(argv[1]);
	int n = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t t;
	for (int i = 1; i < n; i++) pthread_create(&t, NULL, loop, NULL);
	loop(NULL);
	return 0;
}
