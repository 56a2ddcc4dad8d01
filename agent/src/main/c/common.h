/* Shared helpers of the test workloads: clocks and address parsing. */
#ifndef MM_COMMON_H
#define MM_COMMON_H
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static inline int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

/*
 * Makes the caller a real-time task (SCHED_FIFO at prio): a simulated wire, or the probe that
 * times the gaps, must not wait for the CPU behind the work it carries or measures (a real link
 * does not). Returns 0, or -1 if refused (not root): the caller then runs as an ordinary task.
 */
static inline int realtime(int prio) {
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = prio;
    return sched_setscheduler(0, SCHED_FIFO, &sp);
}

static inline struct sockaddr_in addr_of(const char *ip, const char *port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address: %s\n", ip);
        exit(2);
    }
    return a;
}
/* Answers one waiting datagram on fd with "<payload> <status>"; status is what the
 * workload says about itself (its counters and start time). */
static inline void udp_answer(int fd, const char *status) {
    char buf[1024];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(fd, buf, 900, 0, (struct sockaddr *)&from, &fl);
    if (r < 0) return;
    buf[r] = 0;
    char out[1200];
    int m = snprintf(out, sizeof out, "%s %s", buf, status);
    sendto(fd, out, (size_t)m, 0, (struct sockaddr *)&from, fl);
}
#endif
