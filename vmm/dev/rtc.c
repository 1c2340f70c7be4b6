/*
 * Motorola MC146818 RTC with the PC/AT CMOS layout. The time registers are
 * computed from a base wall-clock second and the guest clock, never ticked;
 * interrupt flags are caught up lazily on every access, and vtimers are
 * armed only while an enabled interrupt is still to come (IRQ8 low).
 * The update is instantaneous at the second boundary, with UIP set for
 * the 244 us before it. Not modelled: daylight saving (DSE), square-wave
 * output, the 4.194/1.048 MHz time bases (any divider but reset runs at
 * 32.768 kHz), the 500 ms first update after a divider reset (it is 1 s),
 * and alarm matches at updates nobody observed (only the latest is checked).
 * Periodic interrupts come at the programmed rate, 8192 Hz (RS 0011) at the
 * fastest: RS 0001/0010 alias to 256/128 Hz, so the divider is its own
 * floor and VTIMER_MIN_PERIOD_NS does not apply. The periodic vtimer is
 * armed for the first tick strictly after now, on the divider's phase, so
 * register accesses cannot postpone it; ticks missed while IRQ8 is high
 * (register C unread) coalesce into one PF and one interrupt.
 */
#include "vmm/dev/rtc.h"
#include "vmm/irq.h"
#include "vmm/vm.h"
#include "vmm/vtime.h"
#include "mm/heap.h"

#define RTC_PORTS 2
#define PORT_INDEX 0
#define PORT_DATA 1
#define INDEX_MASK 0x7f /* bit 7 masks NMI on a PC: ignored */
#define CMOS_SIZE 128

/* MC146818 registers. */
#define REG_SECONDS 0x00
#define REG_SECONDS_ALARM 0x01
#define REG_MINUTES 0x02
#define REG_MINUTES_ALARM 0x03
#define REG_HOURS 0x04
#define REG_HOURS_ALARM 0x05
#define REG_DAY_OF_WEEK 0x06
#define REG_DAY_OF_MONTH 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32 /* PC/AT convention */

#define A_UIP 0x80
#define A_DV_MASK 0x70
#define A_DV_RESET 0x60  /* DV2 DV1 = 11: divider chain held in reset */
#define A_RS_MASK 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24_HOUR 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define HOUR_PM 0x80
#define ALARM_DONT_CARE 0xc0

/* PC/AT CMOS bytes. */
#define CMOS_EQUIPMENT 0x14
#define EQUIPMENT_FPU 0x02
#define CMOS_BASE_MEMORY 0x15       /* KiB, 2 bytes */
#define CMOS_EXTENDED_MEMORY 0x17   /* KiB above 1 MiB, 2 bytes */
#define CMOS_CHECKSUM 0x2e          /* big-endian sum of 0x10-0x2d */
#define CMOS_CHECKSUM_FIRST 0x10
#define CMOS_EXTENDED_MEMORY_POST 0x30
#define CMOS_MEMORY_ABOVE_16M 0x34  /* 64 KiB blocks, 2 bytes */
#define CMOS_MEMORY_ABOVE_4G 0x5b   /* 64 KiB blocks, 3 bytes */
#define BASE_MEMORY_KIB 640

#define UIP_WINDOW_NS 244000ULL
#define RTC_DIVIDER_HZ 32768ULL
#define SECONDS_PER_DAY 86400
#define UNIX_EPOCH_WEEKDAY 4 /* 1970-01-01 was a Thursday; Sunday = 0 */

struct rtc {
	struct vm *vm;
	u8 cmos[CMOS_SIZE];
	u8 index;
	s64 base_seconds; /* wall-clock second starting at base_ns */
	u64 base_ns;
	u64 divider_ns;   /* phase of the periodic rate */
	u64 last_ns;      /* interrupt flags are up to date to here */
	bool irq_level;
	struct vtimer periodic_timer, update_timer;
};

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
static s64 days_from_civil(s64 y, unsigned m, unsigned d)
{
	y -= m <= 2;
	s64 era = (y >= 0 ? y : y - 399) / 400;
	s64 yoe = y - era * 400;
	s64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	s64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(s64 z, s64 *year, unsigned *month, unsigned *day)
{
	z += 719468;
	s64 era = (z >= 0 ? z : z - 146096) / 146097;
	s64 doe = z - era * 146097;
	s64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	s64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	s64 mp = (5 * doy + 2) / 153;
	*day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

static bool binary_mode(const struct rtc *r) { return r->cmos[REG_B] & B_DM_BINARY; }

static u8 encode(const struct rtc *r, unsigned v)
{
	return binary_mode(r) ? (u8)v : (u8)((v / 10) << 4 | v % 10);
}

static unsigned decode(const struct rtc *r, u8 v)
{
	return binary_mode(r) ? v : (v >> 4) * 10u + (v & 0xf);
}

static u8 encode_hour(const struct rtc *r, unsigned h)
{
	if (r->cmos[REG_B] & B_24_HOUR)
		return encode(r, h);
	return (u8)(encode(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0));
}

static unsigned decode_hour(const struct rtc *r, u8 v)
{
	if (r->cmos[REG_B] & B_24_HOUR)
		return decode(r, v);
	return decode(r, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

static bool divider_running(const struct rtc *r)
{
	return (r->cmos[REG_A] & A_DV_MASK) < A_DV_RESET;
}

static bool updating(const struct rtc *r)
{
	return divider_running(r) && !(r->cmos[REG_B] & B_SET);
}

static u64 seconds_into_base(const struct rtc *r, u64 now)
{
	return now > r->base_ns ? (now - r->base_ns) / NS_PER_SECOND : 0;
}

static s64 wall_seconds(const struct rtc *r, u64 now)
{
	return r->base_seconds + (s64)seconds_into_base(r, now);
}

static s64 floor_div(s64 a, s64 b)
{
	return a / b - (a % b < 0);
}

/* Fills the time registers from the clock (only while updates run). */
static void refresh_time(struct rtc *r, u64 now)
{
	if (!updating(r))
		return;
	s64 t = wall_seconds(r, now);
	s64 days = floor_div(t, SECONDS_PER_DAY);
	unsigned sod = (unsigned)(t - days * SECONDS_PER_DAY);
	s64 year;
	unsigned month, day;
	civil_from_days(days, &year, &month, &day);
	unsigned y = (unsigned)(year < 0 ? 0 : year % 10000);
	r->cmos[REG_SECONDS] = encode(r, sod % 60);
	r->cmos[REG_MINUTES] = encode(r, sod / 60 % 60);
	r->cmos[REG_HOURS] = encode_hour(r, sod / 3600);
	r->cmos[REG_DAY_OF_WEEK] = encode(r, (unsigned)((days % 7 + 7 + UNIX_EPOCH_WEEKDAY) % 7) + 1);
	r->cmos[REG_DAY_OF_MONTH] = encode(r, day);
	r->cmos[REG_MONTH] = encode(r, month);
	r->cmos[REG_YEAR] = encode(r, y % 100);
	r->cmos[REG_CENTURY] = encode(r, y / 100);
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The time the registers hold, however odd the guest's values. */
static s64 time_from_registers(const struct rtc *r)
{
	s64 year = decode(r, r->cmos[REG_CENTURY]) * 100 + decode(r, r->cmos[REG_YEAR]);
	unsigned month = clamp(decode(r, r->cmos[REG_MONTH]), 1, 12);
	unsigned day = clamp(decode(r, r->cmos[REG_DAY_OF_MONTH]), 1, 31);
	s64 sod = clamp(decode_hour(r, r->cmos[REG_HOURS]), 0, 23) * 3600 +
		  clamp(decode(r, r->cmos[REG_MINUTES]), 0, 59) * 60 +
		  clamp(decode(r, r->cmos[REG_SECONDS]), 0, 59);
	return days_from_civil(year, month, day) * SECONDS_PER_DAY + sod;
}

static u64 ns_to_divider_ticks(u64 ns)
{
	return muldiv(ns, RTC_DIVIDER_HZ, NS_PER_SECOND);
}

static u64 divider_ticks_to_ns(u64 ticks) /* rounded up */
{
	return muldiv_round_up(ticks, NS_PER_SECOND, RTC_DIVIDER_HZ);
}

/* Periodic rate: RS 1-2 repeat RS 8-9; RS n >= 3 divides 32768 Hz by 2^(n-1). */
static unsigned period_shift(const struct rtc *r)
{
	unsigned rs = r->cmos[REG_A] & A_RS_MASK;
	return rs >= 3 ? rs - 1 : rs + 6;
}

static bool periodic_running(const struct rtc *r)
{
	return divider_running(r) && (r->cmos[REG_A] & A_RS_MASK);
}

static u64 period_index(const struct rtc *r, u64 now)
{
	return ns_to_divider_ticks(now - r->divider_ns) >> period_shift(r);
}

static bool alarm_matches(const struct rtc *r)
{
	static const u8 pairs[][2] = { { REG_SECONDS_ALARM, REG_SECONDS },
				       { REG_MINUTES_ALARM, REG_MINUTES },
				       { REG_HOURS_ALARM, REG_HOURS } };
	for (unsigned i = 0; i < ARRAY_SIZE(pairs); i++) {
		u8 alarm = r->cmos[pairs[i][0]];
		if ((alarm & ALARM_DONT_CARE) != ALARM_DONT_CARE && alarm != r->cmos[pairs[i][1]])
			return false;
	}
	return true;
}

static void set_flags(struct rtc *r, u8 flags)
{
	r->cmos[REG_C] |= flags;
	if (r->cmos[REG_C] & r->cmos[REG_B] & (C_PF | C_AF | C_UF))
		r->cmos[REG_C] |= C_IRQF;
	if ((r->cmos[REG_C] & C_IRQF) && !r->irq_level) {
		r->irq_level = true;
		vm_set_irq(r->vm, ISA_IRQ_RTC, true);
	}
}

/* Sets the flags for every periodic tick and update since last_ns: one PF
 * however many ticks went by. */
static void catch_up(struct rtc *r, u64 now)
{
	if (now <= r->last_ns)
		return;
	u8 flags = 0;
	if (periodic_running(r) && period_index(r, now) != period_index(r, r->last_ns))
		flags |= C_PF;
	if (updating(r) && seconds_into_base(r, now) != seconds_into_base(r, r->last_ns)) {
		flags |= C_UF;
		refresh_time(r, now);
		if (alarm_matches(r))
			flags |= C_AF;
	}
	r->last_ns = now;
	set_flags(r, flags);
}

/* Timers run only while an enabled interrupt can still raise IRQ8. */
static void rearm_timers(struct rtc *r, u64 now)
{
	vtimer_cancel(r->vm, &r->periodic_timer);
	vtimer_cancel(r->vm, &r->update_timer);
	if (r->irq_level)
		return;
	u8 b = r->cmos[REG_B];
	if ((b & B_PIE) && periodic_running(r)) {
		/* The next tick's divider count in ns, rounded up: strictly after
		 * now, and period_index() has reached the tick when it fires. */
		u64 ticks = (period_index(r, now) + 1) << period_shift(r);
		vtimer_arm(r->vm, &r->periodic_timer, r->divider_ns + divider_ticks_to_ns(ticks));
	}
	if ((b & (B_UIE | B_AIE)) && updating(r))
		vtimer_arm(r->vm, &r->update_timer,
			   r->base_ns + (seconds_into_base(r, now) + 1) * NS_PER_SECOND);
}

static void timer_fire(void *opaque, u64 now)
{
	struct rtc *r = opaque;
	catch_up(r, now);
	rearm_timers(r, now);
}

/* The clock (re)starts from the registers; the next update is 1 s away. */
static void restart_clock(struct rtc *r, u64 now)
{
	r->base_seconds = time_from_registers(r);
	r->base_ns = now;
}

static void write_register_a(struct rtc *r, u8 v, u64 now)
{
	bool was_running = divider_running(r), was_updating = updating(r);
	refresh_time(r, now);
	r->cmos[REG_A] = v & ~A_UIP;
	if (!was_running && divider_running(r))
		r->divider_ns = now;
	if (!was_updating && updating(r))
		restart_clock(r, now);
}

static void write_register_b(struct rtc *r, u8 v, u64 now)
{
	bool was_updating = updating(r);
	refresh_time(r, now);
	if (v & B_SET)
		v &= ~B_UIE; /* setting SET clears UIE */
	r->cmos[REG_B] = v;
	if (!was_updating && updating(r))
		restart_clock(r, now);
	set_flags(r, 0); /* a newly enabled flag raises IRQF at once */
}

static void write_time_register(struct rtc *r, unsigned reg, u8 v, u64 now)
{
	refresh_time(r, now);
	r->cmos[reg] = v;
	if (updating(r)) /* keep the second's phase, move the calendar */
		r->base_seconds = time_from_registers(r) - (s64)seconds_into_base(r, now);
}

static bool is_time_register(unsigned reg)
{
	return reg == REG_SECONDS || reg == REG_MINUTES || reg == REG_HOURS ||
	       (reg >= REG_DAY_OF_WEEK && reg <= REG_YEAR) || reg == REG_CENTURY;
}

static u8 read_register(struct rtc *r, u64 now)
{
	unsigned reg = r->index;
	u8 v;
	switch (reg) {
	case REG_A:
		v = r->cmos[REG_A];
		if (updating(r) && (now - r->base_ns) % NS_PER_SECOND >= NS_PER_SECOND - UIP_WINDOW_NS)
			v |= A_UIP;
		return v;
	case REG_C:
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;
		if (r->irq_level) {
			r->irq_level = false;
			vm_set_irq(r->vm, ISA_IRQ_RTC, false);
		}
		rearm_timers(r, now);
		return v;
	case REG_D: return D_VRT;
	default:
		if (is_time_register(reg))
			refresh_time(r, now);
		return r->cmos[reg];
	}
}

static void write_register(struct rtc *r, u8 v, u64 now)
{
	unsigned reg = r->index;
	if (reg == REG_A)
		write_register_a(r, v, now);
	else if (reg == REG_B)
		write_register_b(r, v, now);
	else if (is_time_register(reg))
		write_time_register(r, reg, v, now);
	else if (reg != REG_C && reg != REG_D)
		r->cmos[reg] = v;
	rearm_timers(r, now);
}

static void rtc_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct rtc *r = device;
	*value = ~0ULL; /* the index port is write-only */
	if (offset != PORT_DATA)
		return;
	u64 now = vm_time_ns(r->vm);
	catch_up(r, now);
	*value = ~0xffULL | read_register(r, now);
}

static void rtc_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct rtc *r = device;
	if (offset == PORT_INDEX) {
		r->index = value & INDEX_MASK;
		return;
	}
	u64 now = vm_time_ns(r->vm);
	catch_up(r, now);
	write_register(r, (u8)value, now);
}

static void put_le(u8 *p, u64 v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void set_memory_size(struct rtc *r, u64 ram_bytes)
{
	u64 low = MIN(ram_bytes, RTC_LOW_RAM_MAX);
	u64 extended_kib = low > MiB ? MIN((low - MiB) / KiB, 0xffff) : 0;
	u64 above_16m = low > 16 * MiB ? MIN((low - 16 * MiB) / (64 * KiB), 0xffff) : 0;
	u64 above_4g = MIN((ram_bytes - low) / (64 * KiB), 0xffffff);
	put_le(&r->cmos[CMOS_BASE_MEMORY], BASE_MEMORY_KIB, 2);
	put_le(&r->cmos[CMOS_EXTENDED_MEMORY], extended_kib, 2);
	put_le(&r->cmos[CMOS_EXTENDED_MEMORY_POST], extended_kib, 2);
	put_le(&r->cmos[CMOS_MEMORY_ABOVE_16M], above_16m, 2);
	put_le(&r->cmos[CMOS_MEMORY_ABOVE_4G], above_4g, 3);
}

static void set_checksum(struct rtc *r)
{
	unsigned sum = 0;
	for (unsigned i = CMOS_CHECKSUM_FIRST; i < CMOS_CHECKSUM; i++)
		sum += r->cmos[i];
	r->cmos[CMOS_CHECKSUM] = (u8)(sum >> 8);
	r->cmos[CMOS_CHECKSUM + 1] = (u8)sum;
}

struct rtc *rtc_create(struct vm *vm, const struct rtc_time *now, u64 ram_bytes)
{
	struct rtc *r = vm_device_alloc(vm, sizeof(*r));
	if (!r)
		return NULL;
	r->vm = vm;
	r->cmos[REG_A] = 0x20 | 0x06; /* 32.768 kHz time base, 1024 Hz periodic rate */
	r->cmos[REG_B] = B_24_HOUR;
	r->cmos[REG_D] = D_VRT;
	r->cmos[CMOS_EQUIPMENT] = EQUIPMENT_FPU;
	set_memory_size(r, ram_bytes);
	set_checksum(r);
	r->base_seconds = days_from_civil(now->year, clamp(now->month, 1, 12), clamp(now->day, 1, 31)) *
				  SECONDS_PER_DAY +
			  now->hour * 3600 + now->minute * 60 + now->second;
	r->base_ns = r->divider_ns = r->last_ns = vm_time_ns(vm);
	refresh_time(r, r->base_ns);
	vtimer_init(vm, &r->periodic_timer, timer_fire, r);
	vtimer_init(vm, &r->update_timer, timer_fire, r);
	if (io_bus_register(&vm->pio, RTC_BASE, RTC_PORTS, "MC146818 RTC", r, rtc_read, rtc_write))
		return NULL; /* not freed: the timers point at it */
	return r;
}
