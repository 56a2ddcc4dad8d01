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
 * mmprobe q3 ADDR PORT INTERVAL_MS SECONDS [rcon=PASSWORD] [from=IP,COUNT]
 *   Queries a Quake III / ioquake3 server (e.g. the OpenArena server ioq3ded) every
 *   INTERVAL_MS with connectionless packets ("\xff\xff\xff\xff" + command) and prints one
 *   line per reply:
 *     <ms> <rtt_us> <kind> <map> <players> <score_sum> <level_start> <hostname>
 *   ms: since the probe started; rtt_us: from the request to its reply; kind: "status" (a
 *   getstatus' statusResponse) or "rcon" (an "rcon PASSWORD status" print); map: mapname;
 *   players: player lines (bots included); score_sum: their scores added up (bots frag each
 *   other, so it grows while the level runs; a restarted level starts again from 0);
 *   level_start: the server's g_timestamp cvar, the wall-clock time (server's clock) at which
 *   the current level was loaded: it stays the same for as long as the level runs, so a
 *   restored server shows the same value and a restarted one a new one; hostname:
 *   sv_hostname. Spaces inside values become '_'; a value not known yet is "-" (an rcon reply
 *   carries no cvars: level_start and hostname are those of the last statusResponse).
 *   At the end, or on SIGTERM/SIGINT:
 *     summary sent <n> received <n> max_gap_ms <n> lost <n> rtt_ms_p50 <x> rtt_ms_p99 <x>
 *       rtt_ms_max <x> level_starts <n>
 *   max_gap_ms: longest time without a reply while sending (from the start, and up to the
 *   end); lost: requests never answered (it waits 500 ms after the last one); level_starts:
 *   distinct consecutive level_start values seen (1 = one level throughout).
 *   ioq3 rate-limits connectionless queries: per source address a burst of 10 then 1 per
 *   second (shared by getstatus, getinfo and rcon), and getstatus/getinfo in total a burst of
 *   10 then 1 per 100 ms. So a probe faster than 1/s needs both: rcon=PASSWORD (the server's
 *   rconpassword cvar; then it sends "rcon PASSWORD status" and a getstatus at most every
 *   500 ms) and from=IP,COUNT (COUNT consecutive local source addresses from IP, used in
 *   turn; COUNT >= 1000 / INTERVAL_MS, e.g. 50 for 20 ms). Without them it sends getstatus
 *   only, from one socket, and the server drops what exceeds its limits (counted as lost).
 *   A reply matches the last request of the socket it arrives on; later packets of a reply
 *   split in several (an rcon status of more than ~12 players) are ignored.
 */
#include "common.h"
#include <poll.h>
#include <signal.h>
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

/* ---- q3: a Quake III connectionless-query prober (see the header comment) ---- */

static volatile sig_atomic_t q3_stop;

static void q3_on_signal(int sig) {
    (void)sig;
    q3_stop = 1;
}

/* What one reply said about the server; strings are sanitised (no spaces), "-" if unknown. */
struct q3_view {
    char map[64], level_start[64], hostname[64];
    int players;
    long score_sum;
};

static void q3_copy_value(char *dst, size_t cap, const char *src, size_t len) {
    if (len == 0) { snprintf(dst, cap, "-"); return; }
    if (len >= cap) len = cap - 1;
    for (size_t i = 0; i < len; i++) dst[i] = (src[i] == ' ' || src[i] == '\t' || (unsigned char)src[i] < 32) ? '_' : src[i];
    dst[len] = 0;
}

/* Finds key in a "\\k\\v\\k\\v" infostring (up to its end at `end`); copies the value. */
static int q3_info_value(const char *info, const char *end, const char *key, char *dst, size_t cap) {
    size_t klen = strlen(key);
    const char *p = info;
    while (p < end && *p == '\\') {
        const char *k = p + 1, *ks = memchr(k, '\\', (size_t)(end - k));
        if (!ks) return 0;
        const char *v = ks + 1, *ve = memchr(v, '\\', (size_t)(end - v));
        if (!ve) ve = end;
        if ((size_t)(ks - k) == klen && memcmp(k, key, klen) == 0) {
            q3_copy_value(dst, cap, v, (size_t)(ve - v));
            return 1;
        }
        p = ve;
    }
    return 0;
}

/* "statusResponse\n\\k\\v...\n<score> <ping> \"name\"\n..." */
static void q3_parse_status(const char *body, const char *end, struct q3_view *v) {
    const char *nl = memchr(body, '\n', (size_t)(end - body));
    const char *info_end = nl ? nl : end;
    q3_info_value(body, info_end, "mapname", v->map, sizeof v->map);
    q3_info_value(body, info_end, "sv_hostname", v->hostname, sizeof v->hostname);
    q3_info_value(body, info_end, "g_timestamp", v->level_start, sizeof v->level_start);
    v->players = 0;
    v->score_sum = 0;
    for (const char *line = nl ? nl + 1 : end; line < end;) {
        const char *le = memchr(line, '\n', (size_t)(end - line));
        if (!le) le = end;
        int score, ping;
        if (le > line && sscanf(line, "%d %d", &score, &ping) == 2) { v->players++; v->score_sum += score; }
        line = le + 1;
    }
}

/* "print\nmap: NAME\ncl score ping name ...\n-- ----- ...\n  0     3    0 Angelyss ...\n" */
static void q3_parse_rcon_status(const char *body, const char *end, struct q3_view *v) {
    int table = 0;
    v->players = 0;
    v->score_sum = 0;
    for (const char *line = body; line < end;) {
        const char *le = memchr(line, '\n', (size_t)(end - line));
        if (!le) le = end;
        size_t len = (size_t)(le - line);
        if (len > 5 && memcmp(line, "map: ", 5) == 0) q3_copy_value(v->map, sizeof v->map, line + 5, len - 5);
        else if (len >= 2 && memcmp(line, "--", 2) == 0) table = 1;
        else if (table) {
            int cl, score;
            if (sscanf(line, "%d %d", &cl, &score) == 2) { v->players++; v->score_sum += score; }
        }
        line = le + 1;
    }
}

static int q3_cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static double q3_percentile_ms(long *us, long n, double q) {
    if (n == 0) return 0;
    long i = (long)(q * (double)(n - 1) + 0.5);
    return (double)us[i] / 1000.0;
}

/* args: ADDR PORT INTERVAL_MS SECONDS [rcon=PASSWORD] [from=IP,COUNT] */
static int q3_probe(int argc, char **argv) {
    struct sockaddr_in server = addr_of(argv[0], argv[1]);
    int interval = atoi(argv[2]), seconds = atoi(argv[3]);
    const char *password = NULL;
    struct in_addr from = {0};
    int count = 1, bind_from = 0;
    for (int i = 4; i < argc; i++) {
        if (strncmp(argv[i], "rcon=", 5) == 0) password = argv[i] + 5;
        else if (strncmp(argv[i], "from=", 5) == 0) {
            char ip[64];
            snprintf(ip, sizeof ip, "%s", argv[i] + 5);
            char *comma = strchr(ip, ',');
            if (!comma || (count = atoi(comma + 1)) < 1 || count > 1024) { fprintf(stderr, "bad %s: want from=IP,COUNT (1..1024)\n", argv[i]); return 2; }
            *comma = 0;
            if (inet_pton(AF_INET, ip, &from) != 1) { fprintf(stderr, "bad IPv4 address: %s\n", ip); return 2; }
            bind_from = 1;
        } else { fprintf(stderr, "unknown q3 option: %s\n", argv[i]); return 2; }
    }
    if (interval < 1 || seconds < 1) { fprintf(stderr, "INTERVAL_MS and SECONDS must be positive\n"); return 2; }

    int *fds = calloc((size_t)count, sizeof *fds);
    int64_t *sent_at = calloc((size_t)count, sizeof *sent_at); /* us; 0 = answered or none outstanding */
    struct pollfd *pfds = calloc((size_t)count, sizeof *pfds);
    long rtt_cap = (long)seconds * 1000 / interval + 16, rtt_n = 0;
    long *rtts = calloc((size_t)rtt_cap, sizeof *rtts);
    if (!fds || !sent_at || !pfds || !rtts) die("calloc");
    for (int i = 0; i < count; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (fds[i] < 0) die("socket");
        if (bind_from) {
            struct sockaddr_in a = {.sin_family = AF_INET};
            a.sin_addr.s_addr = htonl(ntohl(from.s_addr) + (uint32_t)i);
            if (bind(fds[i], (struct sockaddr *)&a, sizeof a) < 0) {
                char ip[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
                fprintf(stderr, "bind %s: %s (is it an address of this host?)\n", ip, strerror(errno));
                return 1;
            }
        }
        if (connect(fds[i], (struct sockaddr *)&server, sizeof server) < 0) die("connect");
        pfds[i].fd = fds[i];
        pfds[i].events = POLLIN;
    }
    struct sigaction sa = {.sa_handler = q3_on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char rcon_req[256];
    int rcon_len = password ? snprintf(rcon_req, sizeof rcon_req, "\xff\xff\xff\xffrcon %s status\n", password) : 0;
    static const char status_req[] = "\xff\xff\xff\xffgetstatus\n";
    struct q3_view view = {.map = "-", .level_start = "-", .hostname = "-"};
    char last_start[64] = "";
    long sent = 0, received = 0, level_starts = 0;
    int64_t t0 = mono_ms(), next = t0, last_reply = t0, max_gap = 0, last_getstatus = t0 - 1000;
    int64_t stop_sending = t0 + (int64_t)seconds * 1000, drain_until = 0;
    for (;;) {
        int64_t now = mono_ms();
        if (q3_stop) break;
        if (now >= stop_sending) {
            if (drain_until == 0) drain_until = now + 500;
            if (now >= drain_until) break;
        } else if (now >= next) {
            int k = (int)(sent % count);
            int use_status = !password || now - last_getstatus >= 500;
            const char *req = use_status ? status_req : rcon_req;
            size_t len = use_status ? sizeof status_req - 1 : (size_t)rcon_len;
            if (use_status) last_getstatus = now;
            sent_at[k] = mono_us();
            if (send(fds[k], req, len, 0) < 0) sent_at[k] = 0; /* e.g. ECONNREFUSED of an earlier packet */
            sent++;
            next += interval;
            if (next < now - interval) next = now; /* stalled (suspended?): do not send a burst */
        }
        int64_t until = drain_until ? drain_until : (next < stop_sending ? next : stop_sending);
        int64_t wait = until - mono_ms();
        if (poll(pfds, (nfds_t)count, wait > 0 ? (int)wait : 0) <= 0) continue;
        for (int k = 0; k < count; k++) {
            if (!(pfds[k].revents & (POLLIN | POLLERR))) continue;
            char buf[16384];
            ssize_t r = recv(fds[k], buf, sizeof buf - 1, 0);
            if (r < 4 || memcmp(buf, "\xff\xff\xff\xff", 4) != 0 || sent_at[k] == 0) continue;
            int64_t at = mono_us();
            long rtt = (long)(at - sent_at[k]);
            sent_at[k] = 0;
            buf[r] = 0;
            const char *body = buf + 4, *end = buf + r, *kind;
            if (strncmp(body, "statusResponse\n", 15) == 0) {
                kind = "status";
                q3_parse_status(body + 15, end, &view);
                if (strcmp(view.level_start, last_start) != 0) {
                    level_starts++;
                    snprintf(last_start, sizeof last_start, "%s", view.level_start);
                }
            } else if (strncmp(body, "print\n", 6) == 0) {
                kind = "rcon";
                q3_parse_rcon_status(body + 6, end, &view);
            } else {
                continue;
            }
            received++;
            if (rtt_n < rtt_cap) rtts[rtt_n++] = rtt;
            int64_t now_ms = at / 1000;
            if (now_ms - last_reply > max_gap) max_gap = now_ms - last_reply;
            last_reply = now_ms;
            printf("%lld %ld %s %s %d %ld %s %s\n", (long long)(now_ms - t0), rtt, kind, view.map, view.players,
                   view.score_sum, view.level_start, view.hostname);
        }
    }
    int64_t end_of_sending = mono_ms() < stop_sending ? mono_ms() : stop_sending;
    if (end_of_sending - last_reply > max_gap) max_gap = end_of_sending - last_reply;
    qsort(rtts, (size_t)rtt_n, sizeof *rtts, q3_cmp_long);
    printf("summary sent %ld received %ld max_gap_ms %lld lost %ld rtt_ms_p50 %.3f rtt_ms_p99 %.3f rtt_ms_max %.3f "
           "level_starts %ld\n", sent, received, (long long)max_gap, sent - received,
           q3_percentile_ms(rtts, rtt_n, 0.5), q3_percentile_ms(rtts, rtt_n, 0.99),
           rtt_n ? (double)rtts[rtt_n - 1] / 1000.0 : 0.0, level_starts);
    return received > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    /* Replies are stamped when read: a probe waiting for the CPU would stretch the gaps it reports. */
    if (realtime(40) != 0) fprintf(stderr, "mmprobe: not real-time (%s): gaps may include waits for the CPU\n", strerror(errno));
    if (argc == 5 && strcmp(argv[1], "tcp") == 0) return tcp_probe(argv[2], argv[3], atoi(argv[4]));
    if (argc == 6 && strcmp(argv[1], "udp") == 0) return udp_probe(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    if (argc >= 6 && argc <= 8 && strcmp(argv[1], "q3") == 0) return q3_probe(argc - 2, argv + 2);
    fprintf(stderr, "usage: mmprobe tcp ADDR PORT SECONDS | mmprobe udp ADDR PORT INTERVAL_MS SECONDS\n"
                    "       mmprobe q3 ADDR PORT INTERVAL_MS SECONDS [rcon=PASSWORD] [from=IP,COUNT]\n");
    return 2;
}
