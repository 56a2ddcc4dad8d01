/*
 * mmcriu: stands in for the criu binary of a restore that runc starts before its images are
 * complete, so that runc's part (its start, its CRIU version check, the bundle's mounts and
 * cgroup, starting CRIU and putting it into the cgroup: ~25 ms here) is done while the final
 * image is still on its way, and only CRIU's own restore is left for after it.
 *
 * runc runs "criu swrk FD" and sends one request over the socket FD. This program looks at the
 * request without taking it (MSG_PEEK): a RESTORE request waits until the agent opens the gate,
 * every other (runc's version check) goes on at once. Then it becomes the real criu (execv, same
 * pid, same descriptors, already in the container's cgroup), which reads the request as if it
 * had been first.
 *
 * Environment (set by the agent on the runc it starts):
 *   MM_CRIU          the real criu binary (absolute path)
 *   MM_CRIU_GATE     a directory: the file "open" there lets the restore go on, the file
 *                    "abort" ends it (exit 1, and runc fails the restore), and so does the
 *                    directory's removal (an agent cleaning up after a migration that ended);
 *                    the agent writes a byte to the FIFO "wake" there after either file
 *   MM_CRIU_GATE_MS  how long to wait at most (default 120000); exit 1 after that
 *   MM_CRIU_AGENT    the agent's pid: if it dies first, nobody will open the gate (exit 1)
 * It also gives up (exit 1) as soon as runc closes its end of the socket: a runc that was
 * killed leaves no CRIU waiting behind it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define REQ_TYPE_RESTORE 2

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int exists(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/*
 * The request's type: its first field (criu_req.type, field 1, a varint) as the protobuf
 * encoding puts it first; -1 if the socket closed or the bytes are not that.
 */
static int request_type(int fd) {
    unsigned char buf[16];
    ssize_t n;
    do {
        n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n < 2 || buf[0] != 0x08 || (buf[1] & 0x80)) return -1;
    return buf[1];
}

static int gone(pid_t agent) {
    return agent > 0 && kill(agent, 0) != 0 && errno == ESRCH;
}

/*
 * Opens the gate's wake-up pipe (the FIFO "wake", made here if the agent has not): the agent
 * writes a byte to it after it creates "open" or "abort". Not inotify: closing an inotify
 * instance that watched something waits for an RCU grace period, and measured here that close
 * (or the exec that does it) held CRIU's restore back 12-13 ms of every migration's downtime.
 * Opened for reading and writing, so it neither blocks without a writer nor reports a hang-up
 * when the agent closes its end. -1 if there is none: then the gate is looked at every 10 ms.
 */
static int open_wake(const char *gate) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", gate, "wake");
    if (mkfifo(path, 0600) != 0 && errno != EEXIST) return -1;
    struct stat st;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * 0 once "open" exists in gate, 1 on "abort", the gate's removal (seen within a second), a
 * timeout, or runc or the agent gone.
 */
static int wait_for_gate(const char *gate, int sock, long timeout_ms, pid_t agent) {
    int agent_fd = agent > 0 ? (int) syscall(SYS_pidfd_open, agent, 0) : -1; /* -1: checked once a second */
    int wake = open_wake(gate); /* before the first look at the gate: an "open" after that look pokes it */
    long tick = wake >= 0 ? 1000 : 10;
    long deadline = now_ms() + timeout_ms;
    int result = 1;
    for (;;) {
        if (exists(gate, "abort") || access(gate, F_OK) != 0) {
            fprintf(stderr, "mmcriu: the agent aborted the restore\n");
            break;
        }
        if (gone(agent)) {
            fprintf(stderr, "mmcriu: the agent (pid %d) died before the gate opened\n", (int) agent);
            break;
        }
        if (exists(gate, "open")) {
            result = 0;
            break;
        }
        long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "mmcriu: the gate %s did not open within %ld ms\n", gate, timeout_ms);
            break;
        }
        struct pollfd p[3] = {{.fd = sock, .events = POLLRDHUP}, {.fd = wake, .events = POLLIN}, {.fd = agent_fd, .events = POLLIN}};
        if (poll(p, 3, (int) (left > tick ? tick : left)) < 0 && errno != EINTR) break; /* fd -1 entries are ignored */
        if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
            fprintf(stderr, "mmcriu: runc went away before the gate opened\n");
            break;
        }
        char drain[64];
        while (wake >= 0 && read(wake, drain, sizeof(drain)) > 0) {
        }
    }
    if (wake >= 0) close(wake);
    if (agent_fd >= 0) close(agent_fd);
    return result;
}

int main(int argc, char **argv) {
    const char *real = getenv("MM_CRIU");
    const char *gate = getenv("MM_CRIU_GATE");
    if (!real || real[0] != '/') {
        fprintf(stderr, "mmcriu: MM_CRIU must name the real criu binary by its absolute path\n");
        return 127;
    }
    if (gate && argc >= 3 && strcmp(argv[1], "swrk") == 0) {
        int sock = atoi(argv[2]);
        if (request_type(sock) == REQ_TYPE_RESTORE) {
            const char *t = getenv("MM_CRIU_GATE_MS");
            long timeout = t ? atol(t) : 120000;
            const char *a = getenv("MM_CRIU_AGENT");
            if (wait_for_gate(gate, sock, timeout > 0 ? timeout : 120000, a ? (pid_t) atol(a) : 0) != 0) return 1;
        }
    }
    argv[0] = (char *) real;
    execv(real, argv);
    fprintf(stderr, "mmcriu: cannot run %s: %s\n", real, strerror(errno));
    return 127;
}
