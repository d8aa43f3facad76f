/*
 * Long double arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
 *
 * Redis parses these numbers with strtold, adds them as C `long double` and
 * prints the result with "%.17Lf" before trimming trailing zeros. Rust has no
 * long double type, so this file does exactly those steps in C, using the
 * platform's own long double and libc, which is what makes the results
 * byte-identical to Redis's on the same platform.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number text accepted and longest result produced, as in Redis. */
#define LD_MAX_CHARS (5 * 1024)

/* Parses `len` bytes as a long double; 0 if they are not a valid float. */
static int parse_ld(const char *text, size_t len, long double *out) {
    char buf[LD_MAX_CHARS];
    char *end;
    long double value;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    value = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    *out = value;
    return 1;
}

/*
 * Adds `incr` to `current` (either may be absent: length 0 and NULL for a
 * missing current value means 0). Writes the human-readable result into
 * `out` (capacity LD_MAX_CHARS) and returns its length, or:
 *   -1 current is not a valid float, -2 incr is not a valid float,
 *   -3 the result is NaN or infinite.
 */
long ferrodis_ld_incr(const char *current, size_t current_len, int has_current,
                      const char *incr, size_t incr_len, char *out) {
    long double value = 0, delta;
    int len;

    if (has_current && !parse_ld(current, current_len, &value)) return -1;
    if (!parse_ld(incr, incr_len, &delta)) return -2;
    value += delta;
    if (isnan(value) || isinf(value)) return -3;

    len = snprintf(out, LD_MAX_CHARS, "%.17Lf", value);
    if (len < 0 || len + 1 > LD_MAX_CHARS) return 0;
    if (strchr(out, '.') != NULL) {
        while (len > 0 && out[len - 1] == '0') len--;
        if (len > 0 && out[len - 1] == '.') len--;
    }
    if (len == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        len = 1;
    }
    return len;
}

/* 0 if `text` is not a valid long double, 1 if it is finite, 2 if it is
 * infinite (HINCRBYFLOAT checks its increment before anything else). */
int ferrodis_ld_classify(const char *text, size_t len) {
    long double value;
    if (!parse_ld(text, len, &value)) return 0;
    return isinf(value) ? 2 : 1;
}

/* A blocking command's timeout in seconds as Redis reads it: parsed as a
 * long double, then (long long) ceill(value * 1000). 0 if not a valid
 * float. */
int ferrodis_ld_timeout_ms(const char *text, size_t len, long long *out) {
    long double value;
    if (!parse_ld(text, len, &value)) return 0;
    *out = (long long)ceill(value * 1000.0);
    return 1;
}
