/*
 * A client for the test workloads, run in a client network namespace.
 *
 * mmprobe tcp ADDR PORT SECONDS
 *   Connects and prints "<ms-since-connect> <line>" for every line received, sends
 *   "ping <n>" every second, and stops after SECONDS. Last line: "end ok" if the
 *   connection lasted, else "end closed" / "end error <reason>". A refused connect is
 *   retried for 5 s (the server may still be starting).
 * mmprobe udp ADDR PORT INTERVAL_MS SECONDS
 *   Sends "seq <n>" every INTERVAL_MS, prints each reply as "<ms> <reply>" and finally
 *   "summary sent <n> received <n> max_gap_ms <n>" where max_gap_ms is the longest time
 *   without a reply while sending.
 */
#include "common.h"
#include <poll.h>
#include <unistd.h>

static int tcp_probe(const char *ip, const char *port, int seconds) {
    struct sockaddr_in a = addr_of(ip, port);
    int fd = -1;
    /* The server may still be starting: retry a refused or unreachable connect for 5 s. */
    for (int64_t give_up = mono_ms() + 5000;;) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) break;
        int err = errno;
        close(fd);
        if (mono_ms() > give_up || (err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH)) {
            printf("end error connect %s\n", strerror(err));
            return 1;
        }
        usleep(50 * 1000);
    }
    int64_t t0 = mono_ms(), next_ping = t0 + 1000;
    char buf[4096];
    size_t len = 0;
    int pings = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (mono_ms() - t0 < (int64_t)seconds * 1000) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 50);
        if (n > 0) {
            ssize_t r = read(fd, buf + len, sizeof buf - len - 1);
            if (r == 0) { printf("end closed\n"); return 1; }
            if (r < 0) { printf("end error %s\n", strerror(errno)); return 1; }
            len += (size_t)r;
            char *nl;
            while ((nl = memchr(buf, '\n', len)) != NULL) {
                *nl = 0;
                printf("%lld %s\n", (long long)(mono_ms() - t0), buf);
                size_t used = (size_t)(nl - buf) + 1;
                memmove(buf, buf + used, len - used);
                len -= used;
            }
        }
        if (mono_ms() >= next_ping) {
            char out[64];
            int m = snprintf(out, sizeof out, "ping %d\n", ++pings);
            if (write(fd, out, (size_t)m) < 0) { printf("end error %s\n", strerror(errno)); return 1; }
            next_ping += 1000;
        }
    }
    printf("end ok\n");
    return 0;
}

static int udp_probe(const char *ip, const char *port, int interval, int seconds) {
    struct sockaddr_in a = addr_of(ip, port);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t t0 = mono_ms(), next = t0, last_reply = t0, max_gap = 0;
    long sent = 0, received = 0;
    while (mono_ms() - t0 < (int64_t)seconds * 1000) {
        if (mono_ms() >= next) {
            char out[64];
            int m = snprintf(out, sizeof out, "seq %ld", sent);
            if (send(fd, out, (size_t)m, 0) >= 0) sent++;
            next += interval;
        }
        int64_t wait = next - mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, wait > 0 ? (int)wait : 0) > 0) {
            char buf[2048];
            ssize_t r = recv(fd, buf, sizeof buf - 1, 0);
            if (r > 0) {
                buf[r] = 0;
                int64_t now = mono_ms();
                if (now - last_reply > max_gap) max_gap = now - last_reply;
                last_reply = now;
                received++;
                printf("%lld %s\n", (long long)(now - t0), buf);
            }
        }
    }
    int64_t tail = mono_ms() - last_reply;
    if (tail > max_gap) max_gap = tail;
    printf("summary sent %ld received %ld max_gap_ms %lld\n", sent, received, (long long)max_gap);
    return received > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "tcp") == 0) return tcp_probe(argv[2], argv[3], atoi(argv[4]));
    if (argc == 6 && strcmp(argv[1], "udp") == 0) return udp_probe(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: mmprobe tcp ADDR PORT SECONDS | mmprobe udp ADDR PORT INTERVAL_MS SECONDS\n");
    return 2;
}
