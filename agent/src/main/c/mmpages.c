/*
 * mmpages FIFO TARGET WORKDIR ID BYTES PIPE_BYTES
 *
 * Takes the pages image a final dump writes (CRIU's pages-ID.img) through a FIFO into a file
 * whose pages were allocated and written before the freeze, so that the container stays frozen
 * for less. CRIU writes a pages image with splice() from the pipes holding the frozen task's
 * pages (no copy yet); into a fresh tmpfs file that is a page allocated and filled per 4 KiB
 * page: 9-17 ms of CRIU's frozen time for 20 MiB here, ~1 s for 400 MB. Into a FIFO as large as
 * the kernel allows (fs.pipe-max-size), splice() moves the page references only, CRIU goes on
 * with the rest of its dump, and this program copies them into TARGET beside it. TARGET is made
 * BYTES long and every page of it written (zeros) before "ready": allocated, and touched, which
 * on a VM whose balloon reports free memory to its host is a host fault per page spared at the
 * copy (a copy of 400 MB into pages only allocated took 0.6-1.6 s in the freeze there, 81-93 ms
 * into warm ones). So its size says nothing of what was copied: the bytes copied so far are in
 * WORKDIR/pages-fill-ID.progress, a 64-bit word in the machine's order that a reader following
 * the file maps; at the end the file is cut to them.
 *
 * Before printing "ready" it makes FIFO (the image's path; it must not exist), TARGET (a path on
 * the same file system, which must not exist either) and the progress word, and writes its pid
 * to WORKDIR/pages-fill-ID.pid. WORKDIR is CRIU's work directory, where the action script
 * (mmfreeze) runs on "post-dump".
 *
 * As soon as CRIU opens the FIFO and writes, TARGET is renamed over the FIFO's path (CRIU
 * keeps its descriptor of the FIFO; everyone else sees the file growing) and filled until CRIU
 * closes the FIFO. Then it cuts the file to what was copied, writes
 * WORKDIR/pages-fill-ID.done ("ok BYTES us=N": the copy's time from CRIU's first write) and exits 0.
 *
 * SIGUSR1 is mmfreeze on "post-dump" (CRIU has closed every pages image by then): if CRIU
 * never wrote to the FIFO (the dump has no pages image of that id), the FIFO and TARGET are
 * removed, the done file says "unused" and it exits 0; otherwise it finishes as above. mmfreeze
 * waits for the done file and fails "post-dump" unless it says "ok" or "unused": CRIU then
 * resumes the container instead of ending it with its pages lost.
 *
 * Any failure (or SIGTERM, SIGINT, or the agent's death) closes the FIFO, so that a CRIU still
 * writing fails, removes TARGET and a FIFO still at its path, writes "failed: why" to the done
 * file and exits 1. For tests, MM_PAGES_FAIL=early fails it after its first move of pages (CRIU
 * still writing), MM_PAGES_FAIL=late once CRIU has closed the FIFO (its pages all taken).
 */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *fifo_path, *target_path, *workdir, *id;
static int fifo_fd = -1, target_fd = -1;
static volatile int64_t *progress; /* the bytes copied, for the reader that follows TARGET */
static int renamed;

static void path_in_workdir(char *out, size_t n, const char *suffix) {
    snprintf(out, n, "%s/pages-fill-%s.%s", workdir, id, suffix);
}

/* Writes WORKDIR/pages-fill-ID.SUFFIX atomically (a temporary file renamed): mmfreeze reads it whole or not at all. */
static int write_in_workdir(const char *suffix, const char *text) {
    char path[4096], tmp[4200];
    path_in_workdir(path, sizeof path, suffix);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok && rename(tmp, path) == 0 ? 0 : -1;
}

static void done(const char *text) {
    write_in_workdir("done", text);
}

/* Removes the FIFO if its path still holds it (not once TARGET is renamed there), and TARGET. */
static void remove_files(void) {
    struct stat st;
    if (!renamed && lstat(fifo_path, &st) == 0 && S_ISFIFO(st.st_mode)) unlink(fifo_path);
    if (!renamed) unlink(target_path);
}

static void fail(const char *what, int err) {
    char text[512];
    if (err) snprintf(text, sizeof text, "failed: %s: %s", what, strerror(err));
    else snprintf(text, sizeof text, "failed: %s", what);
    if (fifo_fd >= 0) close(fifo_fd); /* a CRIU still writing gets EPIPE and fails its dump */
    remove_files();
    done(text);
    fprintf(stderr, "mmpages: %s\n", text);
    exit(1);
}

/* Sets the FIFO's capacity to want bytes, or the most the kernel grants below it; returns it. */
static long grow_pipe(int fd, long want) {
    for (long size = want; size >= 65536; size /= 2) {
        long got = fcntl(fd, F_SETPIPE_SZ, size);
        if (got >= 0) return got;
    }
    return fcntl(fd, F_GETPIPE_SZ);
}

/* Moves everything CRIU writes into TARGET until it closes the FIFO; returns the bytes. */
static long long fill(int sfd) {
    const char *fail_when = getenv("MM_PAGES_FAIL");
    long long off = 0;
    struct pollfd p[2] = {{.fd = fifo_fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    for (;;) {
        ssize_t n = splice(fifo_fd, NULL, target_fd, (loff_t *)&off, 1 << 24, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0 && fail_when && strcmp(fail_when, "early") == 0) fail("MM_PAGES_FAIL=early", 0);
        if (n > 0) {
            __atomic_store_n(progress, off, __ATOMIC_RELEASE);
            continue;
        }
        if (n == 0 && fail_when && strcmp(fail_when, "late") == 0) fail("MM_PAGES_FAIL=late", 0);
        if (n == 0) return off; /* no writer left and the FIFO empty */
        if (errno != EAGAIN && errno != EINTR) fail("splice into the pages file", errno);
        if (poll(p, 2, -1) < 0 && errno != EINTR) fail("poll", errno);
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGUSR1) fail("stopped by a signal", 0);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: mmpages FIFO TARGET WORKDIR ID BYTES PIPE_BYTES\n");
        return 2;
    }
    fifo_path = argv[1];
    target_path = argv[2];
    workdir = argv[3];
    id = argv[4];
    long long bytes = atoll(argv[5]);
    long pipe_bytes = atol(argv[6]);
    int64_t started = mono_us();

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) fail("signalfd", errno);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the agent gone: nobody would take the pages */
    if (getppid() == 1) fail("the agent is gone", 0);

    if (mkfifo(fifo_path, 0600) != 0) {
        int err = errno;
        renamed = 1; /* whatever is at the path is not ours to remove */
        fail("mkfifo", err);
    }
    /* Opened without waiting for a writer, so that the FIFO's capacity can be set before CRIU comes. */
    fifo_fd = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo_fd < 0) fail("open the FIFO", errno);
    long pipe_size = grow_pipe(fifo_fd, pipe_bytes);
    /* Measured: 20 MiB through a 1 MiB FIFO take CRIU 4.5-5.7 ms (9.6 into a file), through the
     * default 64 KiB 20-25 ms, a wake-up every 16 pages: below 1 MiB CRIU is better off alone. */
    if (pipe_size < (1 << 20)) fail("the FIFO holds less than 1 MiB (fs.pipe-max-size): CRIU writes faster alone", 0);
    target_fd = open(target_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (target_fd < 0) fail("create the pages file", errno);
    /* Allocated and written now, while the container runs (see above). */
    if (bytes > 0) {
        if (ftruncate(target_fd, bytes) != 0) fail("size the pages file", errno);
        void *m = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, target_fd, 0);
        if (m == MAP_FAILED) fail("map the pages file", errno);
        for (long long off = 0; off < bytes; off += 4096) ((volatile char *)m)[off] = 0;
        munmap(m, (size_t)bytes);
    }
    char progress_path[4096];
    path_in_workdir(progress_path, sizeof progress_path, "progress");
    int pfd = open(progress_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (pfd < 0 || ftruncate(pfd, sizeof(int64_t)) != 0) fail("make the progress word", errno);
    progress = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
    if (progress == MAP_FAILED) fail("map the progress word", errno);
    close(pfd);

    char pid[32];
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (write_in_workdir("pid", pid) != 0) fail("write the pid file", errno);
    printf("ready pipe=%ld allocated=%lld us=%lld\n", pipe_size, bytes, (long long)(mono_us() - started));
    fflush(stdout);

    /* Until CRIU writes, or mmfreeze says the dump has closed its pages images without writing here. */
    struct pollfd p[2] = {{.fd = fifo_fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            fail("poll", errno);
        }
        if (p[0].revents & (POLLIN | POLLHUP)) break; /* POLLHUP: a writer came and went */
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) != sizeof si) continue;
            if (si.ssi_signo != SIGUSR1) fail("stopped by a signal", 0);
            struct pollfd now = {.fd = fifo_fd, .events = POLLIN};
            if (poll(&now, 1, 0) > 0 && (now.revents & (POLLIN | POLLHUP))) break;
            remove_files();
            done("unused");
            printf("unused\n");
            return 0;
        }
    }
    if (rename(target_path, fifo_path) != 0) fail("rename the pages file over the FIFO", errno);
    renamed = 1;
    int64_t first = mono_us();
    long long written = fill(sfd);
    if (ftruncate(target_fd, written) != 0) fail("cut the pages file to its pages", errno);
    if (close(target_fd) != 0) fail("close the pages file", errno);
    char text[128];
    snprintf(text, sizeof text, "ok %lld us=%lld", written, (long long)(mono_us() - first));
    done(text);
    printf("%s\n", text);
    return 0;
}
