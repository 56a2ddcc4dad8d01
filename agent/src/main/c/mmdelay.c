/*
 * mmdelay IFACE_A IFACE_B DELAY_MS
 *
 * A bump in the wire that adds latency in user space (this kernel has no netem): every
 * Ethernet frame received on IFACE_A is sent out of IFACE_B DELAY_MS later, and the other
 * way round. Run it in a namespace where the two interfaces are not bridged together.
 * Frames keep their order (the delay is constant). Bandwidth is shaped separately, with tbf
 * on the interfaces' egress, which frames sent here pass through.
 *
 * Offloads (GSO/GRO/TSO) must be off on both interfaces, so that every frame fits the MTU.
 * Stops on SIGTERM/SIGINT. Prints "ready" once both sockets are open.
 */
#define _GNU_SOURCE
#include "common.h"
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_FRAME 2048
#define QUEUE_LEN 65536

struct frame {
    int64_t due_us;
    uint16_t len;
    unsigned char data[MAX_FRAME];
};

struct queue {
    struct frame *slots;
    size_t head, tail; /* tail - head = frames queued */
    uint64_t dropped;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int open_iface(const char *name, int *ifindex) {
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) die("socket(AF_PACKET)");
    unsigned idx = if_nametoindex(name);
    if (idx == 0) { fprintf(stderr, "no interface %s\n", name); exit(2); }
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
    struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) die("promisc");
    int bufsz = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
    *ifindex = (int)idx;
    return fd;
}

/* Reads every waiting frame from fd into q, stamped with its due time. */
static void receive(int fd, struct queue *q, int64_t delay_us) {
    for (;;) {
        struct sockaddr_ll from;
        socklen_t fl = sizeof from;
        struct frame *f = &q->slots[q->tail % QUEUE_LEN];
        if (q->tail - q->head >= QUEUE_LEN) {
            unsigned char sink[MAX_FRAME];
            if (recvfrom(fd, sink, sizeof sink, MSG_DONTWAIT, NULL, NULL) < 0) return;
            q->dropped++;
            continue;
        }
        ssize_t n = recvfrom(fd, f->data, MAX_FRAME, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
        if (n < 0) return;
        if (from.sll_pkttype == PACKET_OUTGOING) continue; /* our own sends, seen again */
        if (n > MAX_FRAME) { q->dropped++; continue; }
        f->len = (uint16_t)n;
        f->due_us = mono_us() + delay_us;
        q->tail++;
    }
}

/* Sends every due frame of q to fd; returns the time until the next one is due (us), or -1. */
static int64_t transmit(int fd, struct queue *q) {
    int64_t now = mono_us();
    while (q->head != q->tail) {
        struct frame *f = &q->slots[q->head % QUEUE_LEN];
        if (f->due_us > now) return f->due_us - now;
        if (send(fd, f->data, f->len, 0) < 0 && errno == ENOBUFS) return 200; /* qdisc full: retry soon */
        q->head++;
    }
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: mmdelay IFACE_A IFACE_B DELAY_MS\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int64_t delay_us = (int64_t)(atof(argv[3]) * 1000);
    int ia, ib;
    int fa = open_iface(argv[1], &ia);
    int fb = open_iface(argv[2], &ib);
    struct queue ab = {.slots = calloc(QUEUE_LEN, sizeof(struct frame))};
    struct queue ba = {.slots = calloc(QUEUE_LEN, sizeof(struct frame))};
    if (!ab.slots || !ba.slots) die("calloc");
    /* Frames leave when due even while the machine's CPUs are busy (a migration's dump and restore,
     * four agents and two servers on two cores): a relay waiting for its turn added its wait to every
     * frame in flight. And it sleeps to the microsecond, not up to the next millisecond. */
    int rt = realtime(50);
    printf("ready\n");
    fflush(stdout);
    if (rt != 0) fprintf(stderr, "mmdelay: not real-time (%s): frames wait for the CPU when it is busy\n", strerror(errno));
    while (!stop) {
        int64_t w1 = transmit(fb, &ab), w2 = transmit(fa, &ba);
        int64_t wait = w1 < 0 ? w2 : (w2 < 0 ? w1 : (w1 < w2 ? w1 : w2));
        struct pollfd p[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
        if (wait < 0) wait = 100000;
        struct timespec timeout = {.tv_sec = wait / 1000000, .tv_nsec = (wait % 1000000) * 1000};
        if (ppoll(p, 2, &timeout, NULL) < 0 && errno != EINTR) die("ppoll");
        if (p[0].revents & POLLIN) receive(fa, &ab, delay_us);
        if (p[1].revents & POLLIN) receive(fb, &ba, delay_us);
    }
    fprintf(stderr, "mmdelay: dropped %llu + %llu frames (queue full or oversized)\n",
            (unsigned long long)ab.dropped, (unsigned long long)ba.dropped);
    return 0;
}
