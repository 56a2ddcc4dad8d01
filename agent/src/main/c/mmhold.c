/*
 * mmhold QUEUE [MOST_MS]
 *
 * Holds the packets a migration's destination receives for a container's address before the
 * restore has made the socket that takes them, and lets each go the moment that socket exists,
 * so that a request sent during the switchover is answered as the container resumes instead
 * of being lost (UDP: dropped with an ICMP port unreachable; TCP: a reset).
 *
 * The agent sends the address's packets here with an iptables rule in the host's namespace
 * (-j NFQUEUE --queue-num QUEUE --queue-bypass). For each IPv4 UDP or TCP packet, this program
 * asks the kernel (sock_diag, an exact lookup, cheap whatever the socket tables' size) whether a
 * socket would take it now: if so, it is accepted at once; if not, it waits here and the
 * question is asked again every HOLD_POLL_US until it is yes or the packet has waited MOST_MS
 * (default 3000), when it is accepted anyway (and meets what it would have met without us).
 * Other packets are accepted at once. Packets keep their order within a flow.
 *
 * SIGTERM or SIGINT, or the death of the process that started it, accept everything held and
 * end it (exit 0); the rule's --queue-bypass lets packets pass once nobody listens on the queue.
 * Prints "ready" once the queue is bound, and at exit one line
 * "held=N released=N late=N most_ms=N" (late: accepted at MOST_MS, with no socket).
 * If the queue fills (4096 packets), the kernel accepts what does not fit (fail-open).
 */
#define _GNU_SOURCE
#include "common.h"
#include <linux/inet_diag.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#define HOLD_POLL_US 2000
#define MAX_HELD 4096
#define COPY_RANGE 128

struct held {
    uint32_t id;
    int64_t since_us;
    uint8_t proto;
    uint32_t saddr, daddr; /* network order */
    uint16_t sport, dport; /* network order */
};

static struct held held[MAX_HELD];
static size_t nheld;
static int nfq, diag;
static uint16_t queue;
static long most_ms = 3000;
static unsigned long n_held, n_released, n_late;
static int64_t most_waited_us;
static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void put_attr(char *buf, size_t *len, uint16_t type, const void *data, uint16_t size) {
    struct nlattr *a = (struct nlattr *)(buf + *len);
    a->nla_len = (uint16_t)(NLA_HDRLEN + size);
    a->nla_type = type;
    memcpy((char *)a + NLA_HDRLEN, data, size);
    *len += NLA_ALIGN(a->nla_len);
}

/* Sends one nfnetlink queue message with the given attributes already in buf after the headers. */
static void nfq_send(char *buf, size_t len, uint16_t msg, int ack) {
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    nh->nlmsg_len = (uint32_t)len;
    nh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | msg);
    nh->nlmsg_flags = NLM_F_REQUEST | (ack ? NLM_F_ACK : 0);
    nh->nlmsg_seq = 0;
    nh->nlmsg_pid = 0;
    struct nfgenmsg *g = NLMSG_DATA(nh);
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(queue);
    if (send(nfq, buf, len, 0) < 0) die("send to nfnetlink");
    if (!ack) return;
    char rb[4096];
    ssize_t r = recv(nfq, rb, sizeof rb, 0);
    if (r < 0) die("recv from nfnetlink");
    struct nlmsghdr *rh = (struct nlmsghdr *)rb;
    if (rh->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(rh);
        if (e->error != 0) {
            errno = -e->error;
            die("configuring the queue");
        }
    }
}

#define HDRS (NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)))

static void bind_queue(void) {
    char buf[256];
    size_t len = HDRS;
    struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET)};
    put_attr(buf, &len, NFQA_CFG_CMD, &cmd, sizeof cmd);
    nfq_send(buf, len, NFQNL_MSG_CONFIG, 1);
    len = HDRS;
    struct nfqnl_msg_config_params params = {.copy_range = htonl(COPY_RANGE), .copy_mode = NFQNL_COPY_PACKET};
    put_attr(buf, &len, NFQA_CFG_PARAMS, &params, sizeof params);
    uint32_t maxlen = htonl(MAX_HELD);
    put_attr(buf, &len, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
    uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
    put_attr(buf, &len, NFQA_CFG_FLAGS, &flags, sizeof flags);
    put_attr(buf, &len, NFQA_CFG_MASK, &flags, sizeof flags);
    nfq_send(buf, len, NFQNL_MSG_CONFIG, 1);
}

static void accept_packet(uint32_t id) {
    char buf[64];
    size_t len = HDRS;
    struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};
    put_attr(buf, &len, NFQA_VERDICT_HDR, &v, sizeof v);
    nfq_send(buf, len, NFQNL_MSG_VERDICT, 0);
}

/* Whether a socket in this namespace would take a packet of proto from saddr:sport to daddr:dport now. */
static int taken(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport) {
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = sizeof req;
    req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.r.sdiag_family = AF_INET;
    req.r.sdiag_protocol = proto;
    req.r.idiag_states = ~0U;
    req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (proto == IPPROTO_UDP) {
        /* udp_dump_one looks up as a packet from src to dst ("swapped for historical reasons") */
        req.r.id.idiag_src[0] = saddr;
        req.r.id.idiag_sport = sport;
        req.r.id.idiag_dst[0] = daddr;
        req.r.id.idiag_dport = dport;
    } else {
        /* inet_diag_find_one_icsk: src is the socket's own (the packet's destination) */
        req.r.id.idiag_src[0] = daddr;
        req.r.id.idiag_sport = dport;
        req.r.id.idiag_dst[0] = saddr;
        req.r.id.idiag_dport = sport;
    }
    if (send(diag, &req, sizeof req, 0) < 0) die("send to sock_diag");
    char rb[8192];
    ssize_t r = recv(diag, rb, sizeof rb, 0);
    if (r < 0) die("recv from sock_diag");
    struct nlmsghdr *rh = (struct nlmsghdr *)rb;
    return rh->nlmsg_type == SOCK_DIAG_BY_FAMILY;
}

static void release(size_t i, int late) {
    accept_packet(held[i].id);
    int64_t waited = mono_us() - held[i].since_us;
    if (waited > most_waited_us) most_waited_us = waited;
    n_released++;
    if (late) n_late++;
}

static int same_flow(const struct held *a, const struct held *b) {
    return a->proto == b->proto && a->saddr == b->saddr && a->sport == b->sport && a->daddr == b->daddr
           && a->dport == b->dport;
}

/*
 * Lets go what a socket now takes (or what waited long enough). The kernel is asked once per flow
 * in a sweep, so the packets of a flow get one answer and keep their order; the oldest go first.
 */
static void release_ready(int all) {
    struct { struct held flow; int yes; } asked[64];
    size_t nasked = 0;
    int64_t now = mono_us();
    size_t kept = 0;
    for (size_t i = 0; i < nheld; i++) {
        struct held *h = &held[i];
        int late = now - h->since_us >= most_ms * 1000;
        int go = all || late;
        if (!go) {
            int answer = -1;
            for (size_t k = 0; k < nasked && answer < 0; k++)
                if (same_flow(&asked[k].flow, h)) answer = asked[k].yes;
            if (answer < 0) {
                answer = taken(h->proto, h->saddr, h->sport, h->daddr, h->dport);
                if (nasked < sizeof asked / sizeof asked[0]) {
                    asked[nasked].flow = *h;
                    asked[nasked++].yes = answer;
                }
            }
            go = answer;
        }
        if (go)
            release(i, !all && late);
        else
            held[kept++] = *h;
    }
    nheld = kept;
}

static void on_packet(const struct nlmsghdr *nh) {
    const char *p = (const char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
    const char *end = (const char *)nh + nh->nlmsg_len;
    uint32_t id = 0;
    int have_id = 0;
    const unsigned char *payload = NULL;
    size_t plen = 0;
    while (p + NLA_HDRLEN <= end) {
        const struct nlattr *a = (const struct nlattr *)p;
        if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
        int type = a->nla_type & NLA_TYPE_MASK;
        const char *data = p + NLA_HDRLEN;
        if (type == NFQA_PACKET_HDR) {
            const struct nfqnl_msg_packet_hdr *ph = (const struct nfqnl_msg_packet_hdr *)data;
            id = ntohl(ph->packet_id);
            have_id = 1;
        } else if (type == NFQA_PAYLOAD) {
            payload = (const unsigned char *)data;
            plen = a->nla_len - NLA_HDRLEN;
        }
        p += NLA_ALIGN(a->nla_len);
    }
    if (!have_id) return;
    n_held++;
    if (payload == NULL || plen < sizeof(struct iphdr)) { accept_packet(id); n_released++; return; }
    const struct iphdr *ip = (const struct iphdr *)payload;
    size_t ihl = (size_t)ip->ihl * 4;
    if (ip->version != 4 || (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) || plen < ihl + 4
        || (ntohs(ip->frag_off) & 0x1fff) != 0) {
        accept_packet(id);
        n_released++;
        return;
    }
    struct held h = {.id = id, .since_us = mono_us(), .proto = ip->protocol, .saddr = ip->saddr, .daddr = ip->daddr};
    memcpy(&h.sport, payload + ihl, 2);
    memcpy(&h.dport, payload + ihl + 2, 2);
    if (nheld == 0 && taken(h.proto, h.saddr, h.sport, h.daddr, h.dport)) { /* nothing waits before it */
        accept_packet(id);
        n_released++;
        return;
    }
    if (nheld == MAX_HELD) release_ready(1); /* (the kernel's queue is as long: not reached) */
    held[nheld++] = h; /* the next sweep, within HOLD_POLL_US, decides */
}

static void read_packets(void) {
    char buf[65536];
    for (;;) {
        ssize_t r = recv(nfq, buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            if (errno == ENOBUFS) continue; /* the kernel fails open on overflow */
            die("recv from nfnetlink");
        }
        for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)r); nh = NLMSG_NEXT(nh, r)) {
            if ((nh->nlmsg_type & 0xff) == NFQNL_MSG_PACKET && (nh->nlmsg_type >> 8) == NFNL_SUBSYS_QUEUE) on_packet(nh);
        }
    }
}

static void finish(void) {
    release_ready(1);
    printf("held=%lu released=%lu late=%lu most_ms=%.1f\n", n_held, n_released, n_late, most_waited_us / 1000.0);
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mmhold QUEUE [MOST_MS]\n");
        return 2;
    }
    long q = strtol(argv[1], NULL, 10);
    if (q < 0 || q > 65535) { fprintf(stderr, "bad queue number: %s\n", argv[1]); return 2; }
    queue = (uint16_t)q;
    if (argc == 3) most_ms = strtol(argv[2], NULL, 10);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa_stop = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa_stop, NULL);
    sigaction(SIGINT, &sa_stop, NULL);
    sigset_t blocked, during_poll; /* the signals arrive only in ppoll, so that none is missed */
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, &during_poll);
    sigdelset(&during_poll, SIGTERM);
    sigdelset(&during_poll, SIGINT);
    pid_t parent = getppid();
    nfq = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (nfq < 0) die("socket(NETLINK_NETFILTER)");
    int one = 1, bufsz = 4 << 20;
    setsockopt(nfq, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    setsockopt(nfq, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(nfq, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind(NETLINK_NETFILTER)");
    diag = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag < 0) die("socket(NETLINK_SOCK_DIAG)");
    bind_queue();
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        struct pollfd fds[1] = {{.fd = nfq, .events = POLLIN}};
        struct timespec tick = {0, HOLD_POLL_US * 1000L}, idle = {1, 0};
        int n = ppoll(fds, 1, nheld ? &tick : &idle, &during_poll);
        if (n < 0 && errno != EINTR) die("ppoll");
        if (stop || getppid() != parent) finish();
        if (n > 0) read_packets();
        if (nheld) release_ready(0);
    }
}
