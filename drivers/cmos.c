/* Host RTC: read once per VM creation through ports 0x70/0x71. */
#include "drivers/cmos.h"
#include "arch/x86/cpu.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_DISABLE 0x80
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define RTC_CENTURY 0x32
#define STATUS_A_UPDATE_IN_PROGRESS 0x80
#define STATUS_B_24_HOUR 0x02
#define STATUS_B_BINARY 0x04
#define HOUR_PM 0x80
#define UIP_SPIN_LIMIT 1000000

static u8 cmos_read(u8 index)
{
	outb(CMOS_INDEX, CMOS_NMI_DISABLE | index);
	return inb(CMOS_DATA);
}

static u8 from_bcd(u8 v, bool binary) { return binary ? v : (u8)((v >> 4) * 10 + (v & 0xf)); }

static void read_once(struct wall_time *t, u8 *century)
{
	for (int spins = 0; spins < UIP_SPIN_LIMIT && (cmos_read(RTC_STATUS_A) & STATUS_A_UPDATE_IN_PROGRESS); spins++)
		cpu_relax();
	bool binary = cmos_read(RTC_STATUS_B) & STATUS_B_BINARY;
	bool hours24 = cmos_read(RTC_STATUS_B) & STATUS_B_24_HOUR;
	u8 hour = cmos_read(RTC_HOURS);
	bool pm = hour & HOUR_PM;
	t->hour = from_bcd(hour & ~HOUR_PM, binary);
	if (!hours24)
		t->hour = (u8)(t->hour % 12 + (pm ? 12 : 0));
	t->second = from_bcd(cmos_read(RTC_SECONDS), binary);
	t->minute = from_bcd(cmos_read(RTC_MINUTES), binary);
	t->day = from_bcd(cmos_read(RTC_DAY), binary);
	t->month = from_bcd(cmos_read(RTC_MONTH), binary);
	t->year = from_bcd(cmos_read(RTC_YEAR), binary);
	*century = from_bcd(cmos_read(RTC_CENTURY), binary);
}

bool cmos_read_time(struct wall_time *t)
{
	struct wall_time again;
	u8 century, century2;
	/* Read until two reads agree, so no field is torn by an update. */
	for (int tries = 0; tries < 5; tries++) {
		read_once(t, &century);
		read_once(&again, &century2);
		if (t->second == again.second && t->minute == again.minute && t->hour == again.hour &&
		    t->day == again.day)
			break;
	}
	t->year = (u16)((century >= 19 && century <= 30 ? century : 20) * 100 + t->year);
	return t->month >= 1 && t->month <= 12 && t->day >= 1 && t->day <= 31 && t->hour < 24 &&
	       t->minute < 60 && t->second < 60;
}
