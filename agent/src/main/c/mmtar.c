/*
 * mmtar: "tar" for CRIU, first in the PATH the agent gives runc (and so CRIU).
 *
 * CRIU keeps the content of each tmpfs mount of a container (/dev, /dev/shm, /tmp of a runc
 * container) as `tar --create --gzip` of it, and restores it with `tar --extract --gzip`, one
 * mount after the other, the container frozen (criu/filesystems.c). GNU tar runs gzip through
 * /bin/sh, so each mount cost three processes; without gzip it still cost GNU tar's start
 * (a dynamic program: its libraries, its locale), and measured on the tour (2 cores, three tmpfs
 * mounts, everything else of the migration beside it) CRIU spent 3-5 ms per mount on it, dump
 * and restore alike: ~20 ms of every migration's downtime.
 *
 * So this program writes and reads the archives itself, for exactly the arguments CRIU gives
 * and the files a tmpfs holds: directories, regular files, symbolic links, devices and FIFOs,
 * as POSIX ustar (numeric owners, the mode, the modification time). It hands the work to the
 * system's tar, with the same arguments less --gzip, whenever it sees anything else: other
 * arguments, a hard link, a sparse file, a socket, a name or value ustar cannot hold, a gzip or
 * GNU-extended archive, an archive it cannot read twice. It looks before it writes anything,
 * so what it hands over starts from the beginning. The archives are a few KiB; the agent
 * compresses what it sends anyway.
 *
 * MMTAR_TAR (tests only) names the tar to hand over to instead of /usr/bin/tar or /bin/tar.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 512

static const char *const TARS[] = {"/usr/bin/tar", "/bin/tar", NULL};

/* Runs the system's tar with argv's arguments, less --gzip unless keep_gzip. Does not return. */
static void system_tar(char **argv, int keep_gzip) {
    int argc = 0;
    while (argv[argc]) argc++;
    char *args[argc + 1];
    int n = 0;
    args[n++] = "tar";
    for (char **a = argv + 1; *a; a++) {
        if (strcmp(*a, "--gzip") == 0 && !keep_gzip) continue;
        args[n++] = *a;
    }
    args[n] = NULL;
    const char *chosen = getenv("MMTAR_TAR");
    if (chosen && *chosen) {
        execv(chosen, args);
        perror(chosen);
        exit(127);
    }
    for (const char *const *t = TARS; *t; t++) {
        if (access(*t, X_OK) == 0) {
            execv(*t, args);
            perror(*t);
            exit(127);
        }
    }
    fprintf(stderr, "mmtar: no tar in /usr/bin or /bin\n");
    exit(127);
}

/* Whether the archive on stdin is gzip (its magic), as images dumped before this program are. */
static int stdin_is_gzip(void) {
    unsigned char magic[2];
    return pread(STDIN_FILENO, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

static void fail(const char *what, const char *path) {
    fprintf(stderr, "mmtar: %s%s%s: %s\n", path ? path : "", path ? ": " : "", what, strerror(errno));
    exit(2);
}

/* ---------- arguments ---------- */

struct request {
    int create, extract;
    const char *directory;
};

/*
 * Whether argv is one of the two commands CRIU runs (filesystems.c), read into r: --create with
 * its flags, --directory DIR and the one member ".", or --extract with --directory DIR.
 */
static int criu_command(char **argv, struct request *r) {
    static const char *const FLAGS[] = {"--gzip", "--no-unquote", "--no-wildcards", "--one-file-system", "--check-links",
                                        "--preserve-permissions", "--sparse", "--numeric-owner", NULL};
    int members = 0, numeric = 0;
    memset(r, 0, sizeof(*r));
    for (char **a = argv + 1; *a; a++) {
        if (strcmp(*a, "--create") == 0) {
            r->create = 1;
        } else if (strcmp(*a, "--extract") == 0) {
            r->extract = 1;
        } else if (strcmp(*a, "--directory") == 0 && a[1]) {
            if (r->directory) return 0;
            r->directory = *++a;
        } else if (strcmp(*a, ".") == 0) {
            members++;
        } else {
            int known = 0;
            for (const char *const *f = FLAGS; *f; f++) known |= strcmp(*a, *f) == 0;
            if (!known) return 0;
            numeric |= strcmp(*a, "--numeric-owner") == 0;
        }
    }
    if (!r->directory || r->create == r->extract) return 0;
    return r->create ? members == 1 && numeric : members == 0;
}

/* ---------- ustar headers ---------- */

struct header {
    char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag, linkname[100];
    char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};

_Static_assert(sizeof(struct header) == BLOCK, "a ustar header is one block");

/* Writes v in octal into a field of len bytes (len - 1 digits and a NUL); 0 if it does not fit. */
static int octal(char *field, size_t len, unsigned long long v) {
    unsigned long long max = (1ULL << (3 * (len - 1))) - 1;
    if (v > max) return 0;
    snprintf(field, len, "%0*llo", (int) (len - 1), v);
    return 1;
}

/* The value of an octal field (leading spaces, then digits up to a space or NUL); -1 if it is not one. */
static long long parse_octal(const char *field, size_t len) {
    size_t i = 0;
    while (i < len && field[i] == ' ') i++;
    long long v = 0;
    int digits = 0;
    for (; i < len && field[i] >= '0' && field[i] <= '7'; i++, digits++) {
        if (v > (LLONG_MAX >> 3)) return -1;
        v = v * 8 + (field[i] - '0');
    }
    if (i < len && field[i] != ' ' && field[i] != '\0') return -1; /* base-256 and other extensions */
    return digits ? v : (i == len || field[i] == '\0' || field[i] == ' ' ? 0 : -1);
}

static unsigned checksum(const struct header *h) {
    const unsigned char *b = (const unsigned char *) h;
    unsigned sum = 0;
    for (size_t i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : b[i];
    return sum;
}

/* Puts path into name, or prefix "/" name, as ustar does; 0 if it does not fit. */
static int set_name(struct header *h, const char *path) {
    size_t len = strlen(path);
    if (len <= sizeof(h->name)) {
        memcpy(h->name, path, len);
        return 1;
    }
    for (size_t cut = len - 1; cut > 0; cut--) { /* the last '/' that leaves a name of at most 100 */
        if (path[cut] != '/') continue;
        if (len - cut - 1 > sizeof(h->name)) break;
        if (cut > sizeof(h->prefix) || len - cut - 1 == 0) continue;
        memcpy(h->prefix, path, cut);
        memcpy(h->name, path + cut + 1, len - cut - 1);
        return 1;
    }
    return 0;
}

/* ---------- --create ---------- */

struct entry {
    char *path; /* "./" for the top, then "./a", "./a/b/" (directories end in '/') */
    struct stat st;
    struct header h; /* made as listed: what is written */
};

static struct entry *entries;
static size_t n_entries, cap_entries;

/* Fills h for path (link: a symbolic link's target); 0 if ustar cannot say it (the system's tar takes over then). */
static int header_of(const char *path, const struct stat *st, const char *link, struct header *h) {
    memset(h, 0, sizeof(*h));
    if (!set_name(h, path)) return 0;
    if (!octal(h->mode, sizeof(h->mode), st->st_mode & 07777) || !octal(h->uid, sizeof(h->uid), st->st_uid)
        || !octal(h->gid, sizeof(h->gid), st->st_gid) || st->st_mtime < 0
        || !octal(h->mtime, sizeof(h->mtime), (unsigned long long) st->st_mtime)) {
        return 0;
    }
    unsigned long long size = 0;
    if (S_ISREG(st->st_mode)) {
        if (st->st_nlink > 1) return 0;                                  /* hard links */
        if ((unsigned long long) st->st_blocks * 512 < (unsigned long long) st->st_size) return 0; /* sparse */
        h->typeflag = '0';
        size = (unsigned long long) st->st_size;
    } else if (S_ISDIR(st->st_mode)) {
        h->typeflag = '5';
    } else if (S_ISLNK(st->st_mode)) {
        h->typeflag = '2';
        if (!link || strlen(link) > sizeof(h->linkname)) return 0;
        memcpy(h->linkname, link, strlen(link));
    } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
        h->typeflag = S_ISCHR(st->st_mode) ? '3' : '4';
        if (!octal(h->devmajor, sizeof(h->devmajor), major(st->st_rdev))
            || !octal(h->devminor, sizeof(h->devminor), minor(st->st_rdev))) {
            return 0;
        }
    } else if (S_ISFIFO(st->st_mode)) {
        h->typeflag = '6';
    } else {
        return 0; /* sockets: the system's tar says what it does with them */
    }
    if (!octal(h->size, sizeof(h->size), size)) return 0;
    memcpy(h->magic, "ustar", 6);
    memcpy(h->version, "00", 2);
    snprintf(h->chksum, sizeof(h->chksum), "%06o", checksum(h));
    h->chksum[7] = ' ';
    return 1;
}

/* Adds an entry (link: a symbolic link's target, else NULL); 0 if ustar cannot say it (the system's tar takes over then). */
static int add_entry(const char *path, const struct stat *st, const char *link) {
    if (n_entries == cap_entries) {
        cap_entries = cap_entries ? cap_entries * 2 : 64;
        entries = realloc(entries, cap_entries * sizeof(*entries));
        if (!entries) fail("out of memory", NULL);
    }
    struct entry *e = &entries[n_entries++];
    memset(e, 0, sizeof(*e));
    e->path = strdup(path);
    if (!e->path) fail("out of memory", NULL);
    e->st = *st;
    return header_of(path, st, link, &e->h);
}

/* Lists the tree under top (an open directory) depth first, parents before what they hold; 0 if one entry is beyond ustar. */
static int list_tree(int top, const char *rel, dev_t dev, char *path, size_t path_len) {
    int fd = openat(top, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) fail("cannot open the directory", path);
    DIR *d = fdopendir(fd);
    if (!d) fail("cannot read the directory", path);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot stat", de->d_name);
        char child[4096];
        int n = snprintf(child, sizeof(child), "%.*s%s%s", (int) path_len, path, de->d_name, S_ISDIR(st.st_mode) ? "/" : "");
        if (n < 0 || (size_t) n >= sizeof(child)) {
            closedir(d);
            return 0;
        }
        char link[101];
        if (S_ISLNK(st.st_mode)) {
            ssize_t l = readlinkat(fd, de->d_name, link, sizeof(link) - 1);
            if (l < 0) fail("cannot read the link", child);
            if ((size_t) l >= sizeof(link) - 1) {
                closedir(d);
                return 0;
            }
            link[l] = 0;
        }
        if (!add_entry(child, &st, S_ISLNK(st.st_mode) ? link : NULL)) {
            closedir(d);
            return 0;
        }
        /* --one-file-system: a mount point is archived, not what is mounted there */
        if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
            if (!list_tree(top, child + 2 /* relative to top, without "./" */, dev, child, strlen(child))) {
                closedir(d);
                return 0;
            }
        }
        errno = 0;
    }
    if (errno != 0) fail("cannot read the directory", path);
    closedir(d);
    return 1;
}

static char out_buf[1 << 16];
static size_t out_len;

static void flush_out(void) {
    size_t off = 0;
    while (off < out_len) {
        ssize_t w = write(STDOUT_FILENO, out_buf + off, out_len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail("cannot write the archive", NULL);
        off += (size_t) w;
    }
    out_len = 0;
}

static void put(const void *p, size_t n) {
    const char *b = p;
    while (n > 0) {
        if (out_len == sizeof(out_buf)) flush_out();
        size_t k = sizeof(out_buf) - out_len < n ? sizeof(out_buf) - out_len : n;
        memcpy(out_buf + out_len, b, k);
        out_len += k;
        b += k;
        n -= k;
    }
}

static void put_zeros(size_t n) {
    static const char zeros[BLOCK];
    while (n > 0) {
        size_t k = n < BLOCK ? n : BLOCK;
        put(zeros, k);
        n -= k;
    }
}

static int create(struct request *r, char **argv) {
    int top = open(r->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) fail("cannot open the directory", r->directory);
    struct stat st;
    if (fstat(top, &st) != 0) fail("cannot stat", r->directory);
    if (!add_entry("./", &st, NULL) || !list_tree(top, ".", st.st_dev, "./", 2)) system_tar(argv, 0);
    for (size_t i = 0; i < n_entries; i++) {
        struct entry *e = &entries[i];
        put(&e->h, sizeof(e->h));
        if (!S_ISREG(e->st.st_mode)) continue;
        int fd = openat(top, e->path + 2, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) fail("cannot open", e->path);
        off_t left = e->st.st_size;
        while (left > 0) {
            if (out_len == sizeof(out_buf)) flush_out();
            size_t room = sizeof(out_buf) - out_len;
            ssize_t n = read(fd, out_buf + out_len, (off_t) room < left ? room : (size_t) left);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("cannot read", e->path);
            if (n == 0) {
                errno = EIO;
                fail("file shrank while archived", e->path);
            }
            out_len += (size_t) n;
            left -= n;
        }
        close(fd);
        put_zeros((size_t) ((BLOCK - e->st.st_size % BLOCK) % BLOCK));
    }
    put_zeros(2 * BLOCK);
    flush_out();
    return 0;
}

/* ---------- --extract ---------- */

struct member {
    char path[257]; /* without "./" and trailing '/': "" is the top directory */
    char type;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    long long size;
    time_t mtime;
    dev_t rdev;
    char link[101];
};

/*
 * Reads a header of stdin into m: the one at offset off, or, sequential, the next one where stdin
 * stands (off unused). 1 if read, 0 at the archive's end, -1 if this program cannot take it.
 */
static int read_member(off_t off, struct member *m, int sequential) {
    struct header h;
    ssize_t n = 0;
    while ((size_t) n < sizeof(h)) {
        ssize_t k = sequential ? read(STDIN_FILENO, (char *) &h + n, sizeof(h) - (size_t) n)
                               : pread(STDIN_FILENO, (char *) &h + n, sizeof(h) - (size_t) n, off + n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) fail("cannot read the archive", NULL);
        if (k == 0) return n == 0 ? 0 : -1; /* GNU tar takes an archive without its zero blocks too */
        n += k;
    }
    static const struct header zero;
    if (memcmp(&h, &zero, sizeof(h)) == 0) return 0;
    long long sum = parse_octal(h.chksum, sizeof(h.chksum));
    if (sum < 0 || (unsigned) sum != checksum(&h)) return -1;
    int posix = memcmp(h.magic, "ustar", 6) == 0;
    int gnu = memcmp(h.magic, "ustar ", 6) == 0 && memcmp(h.version, " ", 2) == 0;
    if (!posix && !gnu) return -1;
    memset(m, 0, sizeof(*m));
    char name[257];
    if (posix && h.prefix[0]) {
        snprintf(name, sizeof(name), "%.*s/%.*s", (int) strnlen(h.prefix, sizeof(h.prefix)), h.prefix,
                 (int) strnlen(h.name, sizeof(h.name)), h.name);
    } else {
        snprintf(name, sizeof(name), "%.*s", (int) strnlen(h.name, sizeof(h.name)), h.name);
    }
    /* relative, without ".." (GNU tar would strip or refuse those); "./" and trailing '/' dropped */
    if (name[0] == '/') return -1;
    char *p = name;
    while (p[0] == '.' && p[1] == '/') p += 2;
    if (strcmp(p, ".") == 0) p[0] = 0;
    size_t len = strlen(p);
    while (len > 0 && p[len - 1] == '/') p[--len] = 0;
    for (char *c = p; *c;) {
        char *slash = strchr(c, '/');
        size_t l = slash ? (size_t) (slash - c) : strlen(c);
        if ((l == 2 && c[0] == '.' && c[1] == '.') || l == 0 || (l == 1 && c[0] == '.')) return -1;
        c += l + (slash ? 1 : 0);
    }
    snprintf(m->path, sizeof(m->path), "%s", p);
    long long mode = parse_octal(h.mode, sizeof(h.mode)), uid = parse_octal(h.uid, sizeof(h.uid));
    long long gid = parse_octal(h.gid, sizeof(h.gid)), size = parse_octal(h.size, sizeof(h.size));
    long long mtime = parse_octal(h.mtime, sizeof(h.mtime));
    if (mode < 0 || uid < 0 || gid < 0 || size < 0 || mtime < 0) return -1;
    m->mode = (mode_t) (mode & 07777);
    m->uid = (uid_t) uid;
    m->gid = (gid_t) gid;
    m->mtime = (time_t) mtime;
    m->type = h.typeflag == '\0' ? '0' : h.typeflag;
    switch (m->type) {
    case '0':
        m->size = size;
        break;
    case '5':
    case '6':
        break;
    case '2':
        snprintf(m->link, sizeof(m->link), "%.*s", (int) strnlen(h.linkname, sizeof(h.linkname)), h.linkname);
        break;
    case '3':
    case '4': {
        long long ma = parse_octal(h.devmajor, sizeof(h.devmajor)), mi = parse_octal(h.devminor, sizeof(h.devminor));
        if (ma < 0 || mi < 0) return -1;
        m->rdev = makedev((unsigned) ma, (unsigned) mi);
        break;
    }
    default:
        return -1; /* hard links, GNU long names, pax headers, sparse files, ... */
    }
    if (m->type != '0' && size != 0) return -1;
    if (m->path[0] == 0 && m->type != '5') return -1;
    return 1;
}

/*
 * The directory that holds path's last component, under top, made if missing; *leaf points to
 * that component in path, which is as it was on return (cut at each '/' only while walking).
 */
static int parent_of(int top, char *path, const char **leaf) {
    int fd = dup(top);
    if (fd < 0) fail("cannot dup", NULL);
    char *c = path;
    for (char *slash; (slash = strchr(c, '/')) != NULL; c = slash + 1) {
        *slash = 0;
        if (mkdirat(fd, c, 0755) != 0 && errno != EEXIST) fail("cannot make the directory", path);
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) fail("cannot open the directory", path);
        *slash = '/';
        close(fd);
        fd = next;
    }
    *leaf = c;
    return fd;
}

static void copy_out(int fd, long long size, const char *path) {
    char buf[1 << 16];
    long long padded = (size + BLOCK - 1) / BLOCK * BLOCK, done = 0;
    while (done < padded) {
        size_t want = padded - done < (long long) sizeof(buf) ? (size_t) (padded - done) : sizeof(buf);
        ssize_t n = read(STDIN_FILENO, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot read the archive", path);
        if (n == 0) {
            errno = EIO;
            fail("the archive ends inside", path);
        }
        long long useful = size - done;
        if (useful > n) useful = n;
        for (ssize_t off = 0; fd >= 0 && off < useful;) {
            ssize_t w = write(fd, buf + off, (size_t) (useful - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) fail("cannot write", path);
            off += w;
        }
        done += n;
    }
}

static int extract(struct request *r, char **argv) {
    /* a gzip archive (dumped before this program), or one not read twice: the system's tar */
    if (stdin_is_gzip()) system_tar(argv, 1);
    if (lseek(STDIN_FILENO, 0, SEEK_CUR) != 0) system_tar(argv, 0);
    struct member m;
    off_t off = 0;
    for (int got; (got = read_member(off, &m, 0)) != 0; off += BLOCK + (m.size + BLOCK - 1) / BLOCK * BLOCK) {
        if (got < 0) system_tar(argv, 0);
    }

    int top = open(r->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) fail("cannot open the directory", r->directory);
    int root = geteuid() == 0;
    struct member *dirs = NULL; /* their owner, mode and time are set once what they hold is in place */
    size_t n_dirs = 0;
    while (read_member(0, &m, 1) > 0) {
        struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = m.mtime}};
        if (m.type == '5') {
            if (m.path[0]) {
                const char *leaf;
                int parent = parent_of(top, m.path, &leaf);
                if (mkdirat(parent, leaf, 0700) != 0 && errno != EEXIST) fail("cannot make the directory", m.path);
                close(parent);
            }
            dirs = realloc(dirs, (n_dirs + 1) * sizeof(*dirs));
            if (!dirs) fail("out of memory", NULL);
            dirs[n_dirs++] = m;
            continue;
        }
        const char *leaf;
        int parent = parent_of(top, m.path, &leaf);
        if (unlinkat(parent, leaf, 0) != 0 && errno != ENOENT) fail("cannot replace", m.path);
        if (m.type == '0') {
            int fd = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0) fail("cannot create", m.path);
            copy_out(fd, m.size, m.path);
            if (root && fchown(fd, m.uid, m.gid) != 0) fail("cannot chown", m.path);
            if (fchmod(fd, m.mode) != 0) fail("cannot chmod", m.path);
            if (futimens(fd, times) != 0) fail("cannot set the time of", m.path);
            close(fd);
        } else {
            if (m.type == '2') {
                if (symlinkat(m.link, parent, leaf) != 0) fail("cannot make the link", m.path);
            } else {
                mode_t type = m.type == '3' ? S_IFCHR : m.type == '4' ? S_IFBLK : S_IFIFO;
                if (mknodat(parent, leaf, type | 0600, m.rdev) != 0) fail("cannot make the node", m.path);
            }
            if (root && fchownat(parent, leaf, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot chown", m.path);
            if (m.type != '2' && fchmodat(parent, leaf, m.mode, 0) != 0) fail("cannot chmod", m.path);
            if (utimensat(parent, leaf, times, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot set the time of", m.path);
        }
        close(parent);
    }
    for (size_t i = n_dirs; i-- > 0;) { /* innermost first: setting one's time does not touch its parent's */
        struct member *d = &dirs[i];
        int fd = d->path[0] ? openat(top, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : dup(top);
        if (fd < 0) fail("cannot open the directory", d->path);
        struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = d->mtime}};
        if (root && fchown(fd, d->uid, d->gid) != 0) fail("cannot chown", d->path);
        if (fchmod(fd, d->mode) != 0) fail("cannot chmod", d->path);
        if (futimens(fd, times) != 0) fail("cannot set the time of", d->path);
        close(fd);
    }
    return 0;
}

int main(int argc, char **argv) {
    (void) argc;
    struct request r;
    if (!criu_command(argv, &r)) {
        int extracting = 0;
        for (char **a = argv + 1; *a; a++) extracting |= strcmp(*a, "--extract") == 0 || strcmp(*a, "-x") == 0;
        system_tar(argv, extracting && stdin_is_gzip());
    }
    return r.create ? create(&r, argv) : extract(&r, argv);
}
