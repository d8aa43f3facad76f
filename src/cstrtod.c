/*
 * C's strtod for the one reader that must match Redis's libc call exactly:
 * SORT's numeric weights. Redis converts each weight with strtod and then
 * checks the end pointer, errno and NaN itself; which spellings strtod takes
 * (hex floats, "infinity", leading white space) and when it reports a range
 * error (overflow, and underflow to a subnormal or zero) are the platform
 * libc's, so the call is made here, in C, on the same libc.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

/*
 * Converts the NUL-terminated `text` as SORT reads a weight: 1 with `*out`
 * set when strtod consumed all of it (up to the NUL) without a range error
 * and the value is not NaN, 0 otherwise.
 */
int ferrodis_sort_weight(const char *text, double *out) {
    char *end;
    double value;

    errno = 0;
    value = strtod(text, &end);
    if (end[0] != '\0' || errno == ERANGE || isnan(value)) return 0;
    *out = value;
    return 1;
}
