/*
 * The guests' output protocol: one `PASS <what>` or `FAIL <what>: <detail>`
 * line per check, then `DONE <guest>: N passed, M failed`, then an exit
 * through the debug-exit port with 0 if nothing failed, 1 otherwise.
 */
#ifndef GUEST_REPORT_H
#define GUEST_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4
#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

/* Each guest defines its name and its checks. */
extern const char guest_name[];
void guest_main(void);

bool report_pass(const char *what);
bool report_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool check(bool ok, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool check_u32(const char *what, uint32_t got, uint32_t want);
bool check_u64(const char *what, uint64_t got, uint64_t want);
__attribute__((noreturn)) void report_done(void);
__attribute__((noreturn)) void guest_exit(uint8_t code);

/* A check name built with printf formatting; valid until the next call. */
const char *name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
