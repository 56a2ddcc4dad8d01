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
 *                    directory's removal (an agent cleaning up after a migration that ended)
 *   MM_CRIU_GATE_MS  how long to wait at most (default 120000); exit 1 after that
 *   MM_CRIU_AGENT    the agent's pid: if it dies first, nobody will open the gate (exit 1)
 * It also gives up (exit 1) as soon as runc closes its end of the socket: a runc that was
 * killed leaves no CRIU waiting behind it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <signal.h>
#include <sys/socket.h>
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

/* 0 once "open" exists in gate, 1 on "abort", the gate's removal, a timeout, or runc or the agent gone. */
static int wait_for_gate(const char *gate, int sock, long timeout_ms, pid_t agent) {
    int agent_fd = agent > 0 ? (int) syscall(SYS_pidfd_open, agent, 0) : -1; /* -1: checked once a second */
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, gate, IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        fprintf(stderr, "mmcriu: cannot watch the gate %s: %s\n", gate, strerror(errno));
        return 1;
    }
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (exists(gate, "abort") || access(gate, F_OK) != 0) {
            fprintf(stderr, "mmcriu: the agent aborted the restore\n");
            return 1;
        }
        if (gone(agent)) {
            fprintf(stderr, "mmcriu: the agent (pid %d) died before the gate opened\n", (int) agent);
            return 1;
        }
        if (exists(gate, "open")) break;
        long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "mmcriu: the gate %s did not open within %ld ms\n", gate, timeout_ms);
            return 1;
        }
        struct pollfd p[3] = {{.fd = in, .events = POLLIN}, {.fd = sock, .events = POLLRDHUP}, {.fd = agent_fd, .events = POLLIN}};
        if (poll(p, agent_fd >= 0 ? 3 : 2, (int) (left > 1000 ? 1000 : left)) < 0 && errno != EINTR) return 1;
        if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
            fprintf(stderr, "mmcriu: runc went away before the gate opened\n");
            return 1;
        }
        char drain[4096];
        while (read(in, drain, sizeof(drain)) > 0) {
        }
    }
    close(in);
    if (agent_fd >= 0) close(agent_fd);
    return 0;
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
