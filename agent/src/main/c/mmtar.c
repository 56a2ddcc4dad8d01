/*
 * mmtar: "tar" for CRIU, first in the PATH the agent gives runc (and so CRIU): it runs the
 * system's tar with the same arguments, less --gzip.
 *
 * CRIU keeps the content of each tmpfs mount of a container (/dev, /dev/shm, /tmp of a runc
 * container) as `tar --create --gzip` of it, and restores it with `tar --extract --gzip`, one
 * mount after the other, the container frozen (criu/filesystems.c). GNU tar runs gzip through
 * /bin/sh, so each mount costs three processes; the archives are a few KiB, and the agent
 * compresses what it sends anyway. Measured on the tour (2 cores, three tmpfs mounts): tar, sh and
 * gzip took ~20 ms of CPU per migration, CRIU's dump 3-7 ms per mount.
 *
 * On --extract the archive (CRIU gives it as stdin, the image file) keeps --gzip if it is one:
 * images dumped without this program still restore.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const TARS[] = {"/usr/bin/tar", "/bin/tar", NULL};

static int stdin_is_gzip(void) {
    unsigned char magic[2];
    return pread(0, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

int main(int argc, char **argv) {
    (void) argc;
    int extract = 0;
    for (char **a = argv + 1; *a; a++) {
        if (strcmp(*a, "--extract") == 0 || strcmp(*a, "-x") == 0) extract = 1;
    }
    int keep_gzip = extract && stdin_is_gzip();
    char *args[argc + 1];
    int n = 0;
    args[n++] = "tar";
    for (char **a = argv + 1; *a; a++) {
        if (strcmp(*a, "--gzip") == 0 && !keep_gzip) continue;
        args[n++] = *a;
    }
    args[n] = NULL;
    for (const char *const *t = TARS; *t; t++) {
        if (access(*t, X_OK) == 0) {
            execv(*t, args);
            perror(*t);
            return 127;
        }
    }
    fprintf(stderr, "mmtar: no tar in /usr/bin or /bin\n");
    return 127;
}
