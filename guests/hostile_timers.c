/* Hostile cases: placeholder until this group lands. */
#include "hostile.h"

void hostile_timer_cases(void)
{
}
