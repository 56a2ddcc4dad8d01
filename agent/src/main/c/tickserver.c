/*
 * tickserver ADDR TCP_PORT UDP_PORT
 *
 * A counter that ticks every 100 ms. Every established TCP connection receives
 * "tick <n> start <wall-ms-at-start>\n" on each tick and gets each line it sends echoed
 * back as "echo <line>"; every UDP datagram is answered with "<payload> tick <n> start <ms>".
 * After a checkpoint/restore the counter goes on and start stays the same: the process
 * continued, it was not restarted.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#define MAX_CONN 32

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: tickserver ADDR TCP_PORT UDP_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in tcp_addr = addr_of(argv[1], argv[2]);
    struct sockaddr_in udp_addr = addr_of(argv[1], argv[3]);
    int one = 1;

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) < 0) die("bind tcp");
    if (listen(lfd, 16) < 0) die("listen");

    int ufd = socket(AF_INET, SOCK_DGRAM, 0);
    if (ufd < 0) die("socket");
    if (bind(ufd, (struct sockaddr *)&udp_addr, sizeof udp_addr) < 0) die("bind udp");

    int conns[MAX_CONN];
    char inbuf[MAX_CONN][512];
    size_t inlen[MAX_CONN];
    int nconn = 0;
    uint64_t tick = 0;
    int64_t start = wall_ms();
    int64_t next = mono_ms() + 100;

    for (;;) {
        struct pollfd pfd[MAX_CONN + 2];
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = ufd, .events = POLLIN};
        for (int i = 0; i < nconn; i++) pfd[i + 2] = (struct pollfd){.fd = conns[i], .events = POLLIN};
        int64_t wait = next - mono_ms();
        if (wait < 0) wait = 0;
        int n = poll(pfd, (nfds_t)nconn + 2, (int)wait);
        if (n < 0 && errno != EINTR) die("poll");

        if (n > 0 && (pfd[0].revents & POLLIN)) {
            int c = accept(lfd, NULL, NULL);
            if (c >= 0) {
                if (nconn < MAX_CONN) { inlen[nconn] = 0; conns[nconn++] = c; }
                else close(c);
            }
        }
        if (n > 0 && (pfd[1].revents & POLLIN)) {
            char status[96];
            snprintf(status, sizeof status, "tick %llu start %lld", (unsigned long long)tick, (long long)start);
            udp_answer(ufd, status);
        }
        for (int i = 0; n > 0 && i < nconn; i++) {
            if (!(pfd[i + 2].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t r = read(conns[i], inbuf[i] + inlen[i], sizeof inbuf[i] - inlen[i] - 1);
            if (r <= 0) { close(conns[i]); conns[i] = -1; continue; }
            inlen[i] += (size_t)r;
            char *nl;
            while ((nl = memchr(inbuf[i], '\n', inlen[i])) != NULL) {
                size_t len = (size_t)(nl - inbuf[i]) + 1;
                char out[600];
                int m = snprintf(out, sizeof out, "echo %.*s", (int)len, inbuf[i]);
                if (write(conns[i], out, (size_t)m) < 0) break;
                memmove(inbuf[i], inbuf[i] + len, inlen[i] - len);
                inlen[i] -= len;
            }
            if (inlen[i] >= sizeof inbuf[i] - 1) inlen[i] = 0;
        }
        if (mono_ms() >= next) {
            tick++;
            next += 100;
            char out[128];
            int m = snprintf(out, sizeof out, "tick %llu start %lld\n", (unsigned long long)tick,
                             (long long)start);
            for (int i = 0; i < nconn; i++)
                if (conns[i] >= 0 && write(conns[i], out, (size_t)m) < 0) { close(conns[i]); conns[i] = -1; }
        }
        int k = 0;
        for (int i = 0; i < nconn; i++)
            if (conns[i] >= 0) { inlen[k] = inlen[i]; memmove(inbuf[k], inbuf[i], inlen[i]); conns[k++] = conns[i]; }
        nconn = k;
    }
}
