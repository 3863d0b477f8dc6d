/*
 * A deliberately slowed server, of known size, without touching its code: an LD_PRELOAD shim
 * that wraps the calls a server answers with (write, send, sendto, sendmsg, writev) and, after
 * each one,
 *   - REACTOR_SLOW_SPIN_NS=N: spins N nanoseconds of user CPU (a cost per response), and/or
 *   - REACTOR_SLOW_EXTRA_SYSCALL=1: makes one extra system call (getppid).
 * Used by scripts/aa-ab.sh to check that the comparison's regression verdicts catch a change of
 * that size. Build: cc -O2 -shared -fPIC -o slow-preload.so slow-preload.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long spin_ns = -1;
static int extra_syscall = -1;

static void settings(void) {
    if (spin_ns < 0) {
        const char *s = getenv("REACTOR_SLOW_SPIN_NS");
        spin_ns = s ? atol(s) : 0;
        const char *e = getenv("REACTOR_SLOW_EXTRA_SYSCALL");
        extra_syscall = e && *e == '1';
    }
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* the vDSO: no system call while spinning */
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void after_reply(void) {
    settings();
    if (extra_syscall) {
        syscall(SYS_getppid);
    }
    if (spin_ns > 0) {
        long long end = now_ns() + spin_ns;
        while (now_ns() < end) {
        }
    }
}

#define NEXT(name) static __typeof__(name) *next_##name; \
    if (!next_##name) next_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n) {
    NEXT(write);
    ssize_t r = next_write(fd, buf, n);
    if (r > 0) after_reply();
    return r;
}

ssize_t send(int fd, const void *buf, size_t n, int flags) {
    NEXT(send);
    ssize_t r = next_send(fd, buf, n, flags);
    if (r > 0) after_reply();
    return r;
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
               socklen_t len) {
    NEXT(sendto);
    ssize_t r = next_sendto(fd, buf, n, flags, to, len);
    if (r > 0) after_reply();
    return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    NEXT(sendmsg);
    ssize_t r = next_sendmsg(fd, msg, flags);
    if (r > 0) after_reply();
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    NEXT(writev);
    ssize_t r = next_writev(fd, iov, count);
    if (r > 0) after_reply();
    return r;
}
