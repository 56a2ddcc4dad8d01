/*
 * mmfreeze: a CRIU action script (set per container through runc's org.criu.config annotation)
 * that, on "pre-dump", freezes the cgroup of the dumped tree's root (CRTOOLS_INIT_PID) and
 * waits until the kernel reports it frozen. CRIU runs it less than a millisecond before it
 * seizes the tasks; a cgroup it finds frozen it seizes at once, while one it freezes itself it
 * checks only every 100 ms (criu/seize.c). Freezing here, not before runc starts, also keeps
 * runc's and CRIU's start-up out of the freeze. Any other action, or any failure, exits 0: CRIU
 * then freezes the cgroup itself, as without this script.
 *
 * Once the kernel reports the cgroup frozen it creates the file "frozen" in its working
 * directory, CRIU's work directory: from then on nothing in the container runs, and the agent
 * may take its floating IP away while CRIU dumps it.
 *
 * On "post-dump" (the images are complete; CRIU has yet to end the dumped tasks, write its
 * stats and exit, and runc to tear the container down) it creates the file "images-written"
 * in its working directory, which is CRIU's work directory: the agent starts sending the final
 * image then, 5-15 ms before runc returns. It exits 0 there but for the case below: anything
 * else makes CRIU resume the tasks it dumped.
 *
 * Before that, on "post-dump", it waits for the agent's mmpages helpers, if any (a file
 * "pages-fill-ID.pid" for each in its working directory): each is told that CRIU has closed
 * its pages images (SIGUSR1) and answers in "pages-fill-ID.done" once its pages file is
 * complete. If one failed (or died, or is not done within MM_PAGES_WAIT_MS, default 60 s),
 * "post-dump" fails: CRIU then resumes the tasks instead of ending them with their pages lost.
 *
 * On a final dump it also gives CRIU and runc precedence over the host's other work while the
 * container is frozen (MM_DUMP_BOOST, see boost() below), and, when nothing waits for runc's
 * return, puts their teardown behind it (MM_TEARDOWN_NICE, see behind() below).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int write_file(const char *path, const char *value) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(value, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int frozen(const char *path, int v1) {
    char buf[512];
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    if (v1) return strncmp(buf, "FROZEN", 6) == 0;
    return strstr(buf, "frozen 1") != NULL;
}

/* Creates an empty file in the working directory (CRIU's work directory): a marker the agent waits for. */
static void touch(const char *name) {
    FILE *marker = fopen(name, "w");
    if (marker) fclose(marker);
}

/* The parent of process pid (from /proc/PID/stat), or -1. */
static pid_t parent_of(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *end = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    int ppid;
    if (!end || sscanf(end + 1, " %*c %d", &ppid) != 1) return -1;
    return ppid;
}

/* Moves the nice value of every thread of process pid by delta (a Go runtime such as runc's has several). */
static void renice_threads(pid_t pid, int delta) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int tid = atoi(e->d_name);
        if (tid <= 0) continue;
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, tid);
        if (nice == -1 && errno) continue;
        int next = nice + delta;
        setpriority(PRIO_PROCESS, tid, next < -20 ? -20 : next > 19 ? 19 : next);
    }
    closedir(d);
}

/* Nice steps the environment variable name asks for: 1..most, or 0 (unset, or out of range). */
static int steps(const char *name, int most) {
    const char *v = getenv(name);
    int n = v ? atoi(v) : 0;
    return n >= 1 && n <= most ? n : 0;
}

/* Moves CRIU (this script's parent) and the runc that started it (its parent) by delta nice steps. */
static void renice_criu_and_runc(int delta) {
    pid_t criu = getppid();
    pid_t runc = parent_of(criu);
    renice_threads(criu, delta);
    if (runc > 1) renice_threads(runc, delta);
}

/* Whether name is an mmpages helper's pid file ("pages-fill-ID.pid", in the working directory). */
static int is_pages_fill(const char *name) {
    size_t n = strlen(name);
    return strncmp(name, "pages-fill-", 11) == 0 && n >= 15 && strcmp(name + n - 4, ".pid") == 0;
}

/* The pid in name if it is an mmpages helper's pid file, else 0. */
static int pages_fill_pid(const char *name) {
    if (!is_pages_fill(name)) return 0;
    FILE *f = fopen(name, "r");
    int pid = 0;
    if (!f) return 0;
    if (fscanf(f, "%d", &pid) != 1 || pid <= 1) pid = 0;
    fclose(f);
    return pid;
}

/* Moves the agent's mmpages helpers of this dump by delta nice steps. */
static void renice_pages_fills(int delta) {
    DIR *d = opendir(".");
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int pid = pages_fill_pid(e->d_name);
        if (pid > 0) renice_threads(pid, delta);
    }
    closedir(d);
}

/*
 * With MM_DUMP_BOOST=N (1-20; the agent sets it on a final dump only, not on a pre-dump, which
 * runs beside the live container), CRIU and the runc that started it run N nice steps ahead of
 * everything else from "pre-dump" until "post-dump", and so do the dump's mmpages helpers, which
 * copy its pages meanwhile: while the container is frozen the host's
 * cores are shared with the agents, and CRIU (with runc, which answers its notifications) is
 * what the container waits for. Its teardown after "post-dump" goes back behind the agent's
 * sending of the images. A dump that fails has no "post-dump": CRIU and runc then end as they
 * are, a few milliseconds later. The container's own tasks are left as they are (their nice
 * value is part of the image).
 */
static void boost(int sign) {
    int n = steps("MM_DUMP_BOOST", 20);
    if (n <= 0) return;
    renice_criu_and_runc(-sign * n);
    renice_pages_fills(-sign * n);
}

/*
 * With MM_TEARDOWN_NICE=N (1-19; the agent sets it on a final dump that nothing waits for runc to
 * finish: no TCP sockets, and not a lazy dump, whose CRIU serves the pages afterwards), CRIU and
 * runc go N nice steps behind on "post-dump", for their teardown: ending the dumped tasks,
 * exiting, removing the container. On a machine whose cores the hosts share, it would otherwise
 * compete with the agents' sending of the final image and with the restore.
 */
static void behind(void) {
    int n = steps("MM_TEARDOWN_NICE", 19);
    if (n > 0) renice_criu_and_runc(n);
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Reads file path (a few bytes) into buf as a string; 0, or -1 if it cannot be opened. */
static int read_small(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return 0;
}

/*
 * Waits for mmpages helper pid, whose pid file is name ("pages-fill-ID.pid"), after telling it
 * that CRIU has closed its pages images. 0 once its done file says "ok ..." or "unused", else -1.
 */
static int await_pages_fill(const char *name, int pid, long deadline_ms) {
    char done[512], text[256];
    snprintf(done, sizeof(done), "%.*s.done", (int)(strlen(name) - strlen(".pid")), name);
    kill(pid, SIGUSR1);
    struct timespec step = {0, 100 * 1000};
    for (;;) {
        if (read_small(done, text, sizeof(text)) == 0) break;
        if (kill(pid, 0) != 0 && errno == ESRCH) {
            /* gone: its done file may have come just before */
            if (read_small(done, text, sizeof(text)) != 0) return -1;
            break;
        }
        if (now_ms() > deadline_ms) return -1;
        nanosleep(&step, NULL);
    }
    return strncmp(text, "ok ", 3) == 0 || strcmp(text, "unused") == 0 ? 0 : -1;
}

/* Waits for every mmpages helper of this dump (see above); -1 if one did not take its pages whole. */
static int await_pages_fills(void) {
    const char *wait = getenv("MM_PAGES_WAIT_MS");
    long deadline = now_ms() + (wait && atol(wait) > 0 ? atol(wait) : 60000);
    DIR *d = opendir(".");
    if (!d) return 0;
    int failed = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_pages_fill(e->d_name)) continue;
        int pid = pages_fill_pid(e->d_name); /* 0: unreadable, so its pages cannot be vouched for */
        if (pid == 0 || await_pages_fill(e->d_name, pid, deadline) != 0) {
            fprintf(stderr, "mmfreeze: the pages helper of %s did not take its pages image whole\n", e->d_name);
            failed = 1;
        }
    }
    closedir(d);
    return failed ? -1 : 0;
}

int main(void) {
    const char *action = getenv("CRTOOLS_SCRIPT_ACTION");
    const char *pid = getenv("CRTOOLS_INIT_PID");
    if (action && strcmp(action, "post-dump") == 0) {
        if (await_pages_fills() != 0) return 1; /* CRIU resumes the tasks: their pages would be lost */
        boost(-1);
        behind();
        touch("images-written");
        return 0;
    }
    if (!action || strcmp(action, "pre-dump") != 0) return 0;
    boost(1);
    if (!pid) return 0;

    char path[4096], line[4096], v1[4096] = "", v2[4096] = "";
    int hybrid = 0;
    snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/') continue;
        *c1 = 0;
        *c2 = 0;
        if (strcmp(line, "0") == 0 && c1[1] == 0) {
            snprintf(v2, sizeof(v2), "%s", c2 + 1);
            continue;
        }
        hybrid = 1;
        for (char *tok = strtok(c1 + 1, ","); tok; tok = strtok(NULL, ",")) {
            if (strcmp(tok, "freezer") == 0) snprintf(v1, sizeof(v1), "%s", c2 + 1);
        }
    }
    fclose(f);

    char control[4096], state[4096];
    int isv1 = v1[0] != 0;
    if (isv1) {
        snprintf(control, sizeof(control), "/sys/fs/cgroup/freezer%s/freezer.state", v1);
        snprintf(state, sizeof(state), "%s", control);
    } else if (v2[0]) {
        const char *mount = hybrid ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
        snprintf(control, sizeof(control), "%s%s/cgroup.freeze", mount, v2);
        snprintf(state, sizeof(state), "%s%s/cgroup.events", mount, v2);
    } else {
        return 0;
    }
    if (write_file(control, isv1 ? "FROZEN" : "1") != 0) return 0;
    struct timespec step = {0, 100 * 1000};
    for (int i = 0; i < 50000 && !frozen(state, isv1); i++) nanosleep(&step, NULL); /* up to ~5 s */
    if (frozen(state, isv1)) touch("frozen");
    return 0;
}
