/* Hostile cases: placeholder until this group lands. */
#include "hostile.h"

void hostile_console_cases(void)
{
}
