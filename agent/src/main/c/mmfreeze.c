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
 * image then, 5-15 ms before runc returns. It always exits 0 there: anything else would make
 * CRIU resume the tasks it dumped.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void) {
    const char *action = getenv("CRTOOLS_SCRIPT_ACTION");
    const char *pid = getenv("CRTOOLS_INIT_PID");
    if (action && strcmp(action, "post-dump") == 0) {
        touch("images-written");
        return 0;
    }
    if (!action || strcmp(action, "pre-dump") != 0 || !pid) return 0;

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
