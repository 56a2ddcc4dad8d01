/*
 * memhog MB DIRTY_PAGES_PER_SEC [ADDR UDP_PORT]
 *
 * Holds MB megabytes resident, every 4 KiB page filled with distinct pseudo-random bytes
 * (incompressible, no two pages alike), and rewrites DIRTY_PAGES_PER_SEC random pages per
 * second. With ADDR and UDP_PORT it answers each datagram with
 * "<payload> rounds <n> dirtied <pages> start <wall-ms>", so a test can see it continued.
 * It also reads, never writes, every other page of 64 more: the kernel maps its shared zero
 * page there, as in any process that reads memory it has not written yet (CRIU leaves those
 * pages out of a dump). That mapping is read-only: were it read-write, the kernel would merge
 * it with the MB mapping next to it, and a test looking for the MB by their size would miss
 * them when it looks after memhog filled them (failed CI once).
 */
#include "common.h"
#include <poll.h>
#include <sys/mman.h>

static uint64_t rng = 88172645463325252ULL;
static inline uint64_t next_rand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: memhog MB DIRTY_PAGES_PER_SEC [ADDR UDP_PORT]\n");
        return 2;
    }
    size_t pages = (size_t)atol(argv[1]) * 256;
    long rate = atol(argv[2]);
    uint64_t *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    for (size_t i = 0; i < pages * 512; i++) mem[i] = next_rand();
    volatile uint64_t *untouched = mmap(NULL, 64 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (untouched == MAP_FAILED) die("mmap");
    uint64_t zeros = 0;
    for (size_t p = 0; p < 64; p += 2) zeros += untouched[p * 512];
    if (zeros != 0) return 3;

    int ufd = -1;
    if (argc == 5) {
        struct sockaddr_in a = addr_of(argv[3], argv[4]);
        ufd = socket(AF_INET, SOCK_DGRAM, 0);
        if (ufd < 0) die("socket");
        if (bind(ufd, (struct sockaddr *)&a, sizeof a) < 0) die("bind udp");
    }
    int64_t start = wall_ms();
    uint64_t rounds = 0, dirtied = 0;
    int64_t next = mono_ms() + 10;
    double owed = 0;
    for (;;) {
        int64_t wait = next - mono_ms();
        if (wait < 0) wait = 0;
        struct pollfd p = {.fd = ufd, .events = POLLIN};
        int n = poll(&p, ufd >= 0 ? 1 : 0, (int)wait);
        if (n > 0 && (p.revents & POLLIN)) {
            char status[128];
            snprintf(status, sizeof status, "rounds %llu dirtied %llu start %lld", (unsigned long long)rounds,
                     (unsigned long long)dirtied, (long long)start);
            udp_answer(ufd, status);
        }
        if (mono_ms() < next) continue;
        next += 10;
        rounds++;
        owed += rate / 100.0;
        while (owed >= 1) {
            size_t page = (size_t)(next_rand() % pages);
            uint64_t *p64 = mem + page * 512;
            for (int w = 0; w < 512; w++) p64[w] = next_rand();
            dirtied++;
            owed -= 1;
        }
    }
}
