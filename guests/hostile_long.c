/* Hostile cases: placeholder until this group lands. */
#include "hostile.h"

void hostile_long_mode_cases(void)
{
}
