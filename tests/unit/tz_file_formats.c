/* tz_file_formats.c — TZif files other than Debian's own: a v2 file whose
 * footer rule is all there is (zic's "slim" output has few or no
 * transitions), a v1 file (32-bit, no footer), and broken files (every
 * truncation of a real one, flipped bytes): each opens with the right
 * answers or fails with a message, never reads past the data (ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tz.h"

#include "check.h"

static char dir[64];

static void put_file(const char *name, const void *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static size_t be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/* A header: version, then isut, isstd, leap, time, type, char counts. */
static size_t header(unsigned char *p, char version, uint32_t ntime, uint32_t ntype, uint32_t nchar)
{
    memset(p, 0, 44);
    memcpy(p, "TZif", 4);
    p[4] = (unsigned char)version;
    be32(p + 32, ntime);
    be32(p + 36, ntype);
    be32(p + 40, nchar);
    return 44;
}

static size_t type(unsigned char *p, int32_t off, int dst, int abbr)
{
    be32(p, (uint32_t)off);
    p[4] = (unsigned char)dst;
    p[5] = (unsigned char)abbr;
    return 6;
}

static int64_t at(int y, int mo, int d, int h, int mi)
{
    return tz_civil_to_secs(y, mo, d, h, mi, 0);
}

/* v2, no transitions, one type, a footer: the rule alone decides. */
static void test_footer_only(void)
{
    unsigned char f[256];
    size_t n = 0;
    for (int block = 0; block < 2; block++) { /* v1 block, then the v2 block */
        n += header(f + n, '2', 0, 1, 4);
        n += type(f + n, -18000, 0, 0);
        memcpy(f + n, "EST", 4);
        n += 4;
    }
    const char footer[] = "\nEST5EDT,M3.2.0,M11.1.0\n";
    memcpy(f + n, footer, sizeof footer - 1);
    n += sizeof footer - 1;
    put_file("Slim", f, n);

    char err[512];
    tz_zone *z, *ny;
    CHECK(tz_open(&z, "Slim", err, sizeof err) == 0);
    unsetenv("TZDIR");
    CHECK(tz_open(&ny, "America/New_York", err, sizeof err) == 0);
    setenv("TZDIR", dir, 1);
    if (!z || !ny)
        return;
    const char *abbr;
    CHECK(tz_offset_at(z, at(2026, 3, 8, 6, 59), &abbr) == -18000 && !strcmp(abbr, "EST"));
    CHECK(tz_offset_at(z, at(2026, 3, 8, 7, 0), &abbr) == -14400 && !strcmp(abbr, "EDT"));
    CHECK(tz_offset_at(z, at(2026, 11, 1, 5, 59), NULL) == -14400);
    CHECK(tz_offset_at(z, at(2026, 11, 1, 6, 0), NULL) == -18000);
    /* Since 2007 the rule is New York's: every hour for 30 years agrees. */
    for (int64_t t = at(2007, 1, 1, 0, 30); t < at(2037, 1, 1, 0, 0); t += 3600)
        if (tz_offset_at(z, t, NULL) != tz_offset_at(ny, t, NULL)) {
            CHECK(!"footer rule agrees with New York's table");
            break;
        }
    tz_period p;
    tz_period_at(z, at(2026, 6, 1, 0, 0), &p);
    CHECK(p.since == at(2026, 3, 8, 7, 0) && p.until == at(2026, 11, 1, 6, 0) && p.isdst);
    tz_close(z);
    tz_close(ny);
}

/* v1: 32-bit transitions, no footer; before the first transition, type 0. */
static void test_v1(void)
{
    unsigned char f[256];
    size_t n = header(f, 0, 2, 2, 8);
    n += be32(f + n, (uint32_t)at(2000, 4, 2, 10, 0));
    n += be32(f + n, (uint32_t)at(2000, 10, 29, 9, 0));
    f[n++] = 1;
    f[n++] = 0;
    n += type(f + n, -10800, 0, 0);
    n += type(f + n, -7200, 1, 4);
    memcpy(f + n, "AAA\0BBB\0", 8);
    n += 8;
    put_file("Old", f, n);
    char err[512];
    tz_zone *z;
    CHECK(tz_open(&z, "Old", err, sizeof err) == 0);
    if (!z)
        return;
    const char *abbr;
    CHECK(tz_offset_at(z, at(1990, 1, 1, 0, 0), &abbr) == -10800 && !strcmp(abbr, "AAA"));
    CHECK(tz_offset_at(z, at(2000, 6, 1, 0, 0), &abbr) == -7200 && !strcmp(abbr, "BBB"));
    CHECK(tz_offset_at(z, at(2030, 6, 1, 0, 0), &abbr) == -10800 && !strcmp(abbr, "AAA"));
    int64_t out[2];
    CHECK(tz_local_to_utc(z, at(2000, 4, 2, 7, 30), out) == 0);    /* 07:00-07:59 skipped */
    CHECK(tz_local_to_utc(z, at(2000, 10, 29, 6, 30), out) == 2 && /* 06:00-06:59 twice */
          out[0] == at(2000, 10, 29, 8, 30) && out[1] == at(2000, 10, 29, 9, 30));
    tz_close(z);
}

/* Truncations and flipped bytes of a real file: open or refuse, no crash,
 * and a refused file says why. */
static void test_broken(void)
{
    FILE *src = fopen("/usr/share/zoneinfo/America/New_York", "rb");
    if (!src) {
        CHECK(!"America/New_York readable");
        return;
    }
    static unsigned char real[65536], f[65536];
    size_t len = fread(real, 1, sizeof real, src);
    fclose(src);
    char err[512];
    tz_zone *z;
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        put_file("Cut", real, cut);
        if (tz_open(&z, "Cut", err, sizeof err) < 0) {
            refused++;
            CHECK(strstr(err, "Cut") && (strstr(err, "TZif") || strstr(err, "footer")));
        } else {
            tz_offset_at(z, at(2026, 3, 8, 7, 0), NULL); /* the table alone, footer lost */
            tz_close(z);
        }
    }
    CHECK(refused > (int)len - 30); /* only cuts inside the footer's last bytes may open */
    uint64_t rng = 12345;
    for (int i = 0; i < 600; i++) {
        memcpy(f, real, len);
        for (int k = 0; k < 4; k++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            f[(rng >> 33) % len] ^= (unsigned char)(1u << ((rng >> 20) & 7));
        }
        put_file("Flip", f, len);
        if (tz_open(&z, "Flip", err, sizeof err) == 0) {
            int64_t out[2];
            for (int64_t t = at(1900, 1, 1, 0, 0); t < at(2100, 1, 1, 0, 0); t += 86400 * 367)
                tz_local_to_utc(z, t, out);
            tz_close(z);
        }
    }
}

int main(void)
{
    /* Thousands of small files: in memory when /dev/shm is there. */
    snprintf(dir, sizeof dir, "%s/tz-formats-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    setenv("TZDIR", dir, 1);
    test_footer_only();
    test_v1();
    test_broken();
    static const char *const names[] = {"Slim", "Old", "Cut", "Flip"};
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return check_report();
}
