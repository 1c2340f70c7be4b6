/* Hostile cases: placeholder until this group lands. */
#include "hostile.h"

void hostile_cpu_cases(void)
{
}

void hostile_leftover_cases(void)
{
}

void hostile_leave_leftovers(void)
{
}
