/*
 * console: the hostile console cases alone, as the only VM, so that it owns
 * the serial line raw (tests/scenarios/guest-svm-console-raw.scn). With the
 * hostile suite they run on a prefixed console.
 */
#include "hostile.h"
#include "report.h"

const char guest_name[] = "console";

void guest_main(void)
{
	hostile_console_cases();
}
