/*
 * Unit tests for the I/O bus (vmm/iobus.c) and the guest memory map
 * (vmm/memmap.c). This file carries its own host shim instead of
 * tests/unit/host_support.h so that it can capture every log line the bus
 * prints (the unclaimed-access log must be rate-limited).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <cmocka.h>

#include "lib/print.h"
#include "lib/format.c"

/* ---- Host shim: console, log capture and panic ---- */

#define CAPTURE_LINES 64
#define CAPTURE_BYTES 256

static char captured[CAPTURE_LINES][CAPTURE_BYTES];
static enum log_level captured_level[CAPTURE_LINES];
static unsigned captured_count; /* every call, even past CAPTURE_LINES */

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void log_set_level(enum log_level level) { (void)level; }

void log_printf(enum log_level level, const char *fmt, ...)
{
	char line[CAPTURE_BYTES];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (captured_count < CAPTURE_LINES) {
		memcpy(captured[captured_count], line, sizeof(line));
		captured_level[captured_count] = level;
	}
	captured_count++;
}

void panic(const char *fmt, ...)
{
	static char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mock_assert(0, buf, __FILE__, __LINE__);
	fprintf(stderr, "panic: %s\n", buf);
	abort();
}

static void clear_capture(void)
{
	memset(captured, 0, sizeof(captured));
	captured_count = 0;
}

#include "vmm/iobus.c"
#include "vmm/memmap.c"

/* ---- Fake devices: record every call ---- */

struct fake_device {
	const char *label;
	unsigned reads, writes;
	struct vcpu *last_vcpu;
	u64 last_offset;
	unsigned last_size;
	u64 last_value;    /* written value */
	u64 read_result;   /* what a read stores */
	u64 value_on_entry;/* *value when the read handler was called */
};

static void fake_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct fake_device *d = device;
	d->reads++;
	d->last_vcpu = vcpu;
	d->last_offset = offset;
	d->last_size = size;
	d->value_on_entry = *value;
	*value = d->read_result;
}

static void fake_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct fake_device *d = device;
	d->writes++;
	d->last_vcpu = vcpu;
	d->last_offset = offset;
	d->last_size = size;
	d->last_value = value;
}

/* The vCPU is opaque to the bus: any distinct pointer will do. */
static int vcpu_token;
#define VCPU ((struct vcpu *)&vcpu_token)

static const u64 ones_for_size[9] = {
	[1] = 0xffULL,
	[2] = 0xffffULL,
	[4] = 0xffffffffULL,
	[8] = 0xffffffffffffffffULL,
};

static const unsigned access_sizes[] = { 1, 2, 4, 8 };

static int reg(struct io_bus *bus, u64 start, u64 length, const char *name)
{
	return io_bus_register(bus, start, length, name, NULL, NULL, NULL);
}

/* ---- Registration ---- */

struct span {
	u64 start, length;
	const char *name;
};

/* Distinct, non-overlapping, with gaps and one adjacent pair (0x60/0x64). */
static const struct span five[] = {
	{ 0x3f8, 8, "com1" },
	{ 0x20, 2, "pic1" },
	{ 0x60, 4, "kbd-a" },
	{ 0x64, 1, "kbd-b" },
	{ 0x2f8, 8, "com2" },
};
/* The same, sorted by hand. */
static const unsigned five_sorted[] = { 1, 2, 3, 4, 0 };

static bool next_permutation(unsigned *p, unsigned n)
{
	int i = (int)n - 2;
	while (i >= 0 && p[i] >= p[i + 1])
		i--;
	if (i < 0)
		return false;
	int j = (int)n - 1;
	while (p[j] <= p[i])
		j--;
	unsigned t = p[i];
	p[i] = p[j];
	p[j] = t;
	for (unsigned a = (unsigned)i + 1, b = n - 1; a < b; a++, b--) {
		t = p[a];
		p[a] = p[b];
		p[b] = t;
	}
	return true;
}

static void test_register_sorted_in_any_order(void **state)
{
	(void)state;
	unsigned order[5] = { 0, 1, 2, 3, 4 };
	unsigned permutations = 0;
	do {
		struct io_bus bus;
		io_bus_init(&bus, "port");
		for (unsigned i = 0; i < 5; i++) {
			const struct span *s = &five[order[i]];
			assert_int_equal(io_bus_register(&bus, s->start, s->length, s->name,
							 (void *)s, fake_read, fake_write),
					 0);
		}
		assert_int_equal(bus.count, 5);
		for (unsigned i = 0; i < 5; i++) {
			const struct span *s = &five[five_sorted[i]];
			const struct io_range *r = &bus.range[i];
			assert_int_equal(r->start, s->start);
			assert_int_equal(r->end, s->start + s->length);
			assert_string_equal(r->name, s->name);
			assert_ptr_equal(r->device, s);
			assert_ptr_equal(r->read, fake_read);
			assert_ptr_equal(r->write, fake_write);
		}
		permutations++;
	} while (next_permutation(order, 5));
	assert_int_equal(permutations, 120);
}

static void assert_bus_unchanged(const struct io_bus *bus, const struct io_bus *before)
{
	assert_int_equal(bus->count, before->count);
	for (unsigned i = 0; i < bus->count; i++) {
		assert_int_equal(bus->range[i].start, before->range[i].start);
		assert_int_equal(bus->range[i].end, before->range[i].end);
		assert_ptr_equal(bus->range[i].name, before->range[i].name);
	}
}

static void test_register_overlaps_rejected(void **state)
{
	(void)state;
	struct io_bus bus, before;
	io_bus_init(&bus, "port");
	/* Existing: [0x100, 0x200) and [0x300, 0x400). */
	assert_int_equal(reg(&bus, 0x100, 0x100, "a"), 0);
	assert_int_equal(reg(&bus, 0x300, 0x100, "b"), 0);
	before = bus;
	static const struct span overlapping[] = {
		{ 0x100, 0x100, "identical" },
		{ 0x100, 1, "same start, shorter" },
		{ 0x100, 0x180, "same start, longer" },
		{ 0x150, 0x10, "inside" },
		{ 0x1ff, 1, "last byte" },
		{ 0x180, 0x80, "same end" },
		{ 0xf0, 0x11, "straddles start by one byte" },
		{ 0x80, 0x100, "straddles start" },
		{ 0x1ff, 2, "straddles end by one byte" },
		{ 0x1f0, 0x20, "straddles end" },
		{ 0x0, 0x1000, "covers both" },
		{ 0xff, 0x102, "covers one exactly plus a byte each side" },
		{ 0x150, 0x200, "from inside a into b" },
		{ 0x200, 0x101, "gap then into b by one byte" },
		{ 0x3ff, 0x10, "last byte of b and beyond" },
		{ 0x300, 1, "first byte of b" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(overlapping); i++) {
		const struct span *s = &overlapping[i];
		if (reg(&bus, s->start, s->length, s->name) != -1)
			fail_msg("overlap '%s' [0x%llx, +0x%llx) was accepted", s->name,
				 (unsigned long long)s->start, (unsigned long long)s->length);
		assert_bus_unchanged(&bus, &before);
	}
	/* Adjacent on either side and exactly filling the gap are fine. */
	assert_int_equal(reg(&bus, 0xf0, 0x10, "left of a"), 0);
	assert_int_equal(reg(&bus, 0x400, 0x10, "right of b"), 0);
	assert_int_equal(reg(&bus, 0x200, 0x100, "fills the gap"), 0);
	assert_int_equal(bus.count, 5);
	static const u64 starts[] = { 0xf0, 0x100, 0x200, 0x300, 0x400 };
	static const u64 ends[] = { 0x100, 0x200, 0x300, 0x400, 0x410 };
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(bus.range[i].start, starts[i]);
		assert_int_equal(bus.range[i].end, ends[i]);
	}
}

static void test_register_empty_and_overflow_rejected(void **state)
{
	(void)state;
	struct io_bus bus;
	io_bus_init(&bus, "MMIO");
	assert_int_equal(reg(&bus, 0x1000, 0, "empty"), -1);
	assert_int_equal(reg(&bus, 0, 0, "empty at zero"), -1);
	assert_int_equal(reg(&bus, UINT64_MAX, 2, "wraps"), -1);
	assert_int_equal(reg(&bus, 0xfffffffffffff000ULL, 0x2000, "wraps by a page"), -1);
	/* end is exclusive in a u64, so a range cannot reach 2^64 itself. */
	assert_int_equal(reg(&bus, UINT64_MAX, 1, "ends at 2^64"), -1);
	assert_int_equal(reg(&bus, 1, UINT64_MAX, "ends at 2^64 from 1"), -1);
	assert_int_equal(bus.count, 0);
	/* The largest representable range: [0, 2^64 - 1). */
	assert_int_equal(reg(&bus, 0, UINT64_MAX, "everything"), 0);
	assert_non_null(io_bus_find(&bus, 0));
	assert_non_null(io_bus_find(&bus, UINT64_MAX - 1));
	assert_null(io_bus_find(&bus, UINT64_MAX));
	/* A top range right below 2^64 - 1 in a fresh bus. */
	io_bus_init(&bus, "MMIO");
	assert_int_equal(reg(&bus, 0xfffffffffffff000ULL, 0xfff, "top"), 0);
	assert_null(io_bus_find(&bus, 0xffffffffffffefffULL));
	assert_non_null(io_bus_find(&bus, 0xfffffffffffff000ULL));
	assert_non_null(io_bus_find(&bus, 0xfffffffffffffffeULL));
	assert_null(io_bus_find(&bus, UINT64_MAX));
}

static void test_register_bus_full(void **state)
{
	(void)state;
	struct io_bus bus;
	io_bus_init(&bus, "port");
	/* Fill from the top down so every insert shifts the array. */
	for (unsigned i = IO_BUS_MAX_RANGES; i > 0; i--)
		assert_int_equal(reg(&bus, 0x1000 + 0x10 * (i - 1), 4, "r"), 0);
	assert_int_equal(bus.count, IO_BUS_MAX_RANGES);
	/* Neither a free slot before, between nor after the others is taken. */
	assert_int_equal(reg(&bus, 0x0, 4, "before"), -1);
	assert_int_equal(reg(&bus, 0x1008, 4, "between"), -1);
	assert_int_equal(reg(&bus, 0x10000, 4, "after"), -1);
	assert_int_equal(bus.count, IO_BUS_MAX_RANGES);
	for (unsigned i = 0; i < IO_BUS_MAX_RANGES; i++) {
		assert_int_equal(bus.range[i].start, 0x1000 + 0x10 * i);
		assert_int_equal(bus.range[i].end, 0x1004 + 0x10 * i);
	}
}

/* ---- Lookup ---- */

/* Reference: the range index (in registration order) holding addr, or -1. */
static int linear_lookup(const struct span *spans, unsigned n, u64 addr)
{
	for (unsigned i = 0; i < n; i++)
		if (addr >= spans[i].start && addr - spans[i].start < spans[i].length)
			return (int)i;
	return -1;
}

static void check_find_matches(const struct io_bus *bus, const struct span *spans, unsigned n,
			       u64 addr)
{
	const struct io_range *r = io_bus_find(bus, addr);
	int want = linear_lookup(spans, n, addr);
	if (want < 0) {
		if (r)
			fail_msg("0x%llx: found [0x%llx, 0x%llx), expected nothing",
				 (unsigned long long)addr, (unsigned long long)r->start,
				 (unsigned long long)r->end);
		return;
	}
	if (!r)
		fail_msg("0x%llx: nothing found, expected range %d", (unsigned long long)addr, want);
	assert_int_equal(r->start, spans[want].start);
	assert_ptr_equal(r->device, &spans[want]);
}

static void test_find_every_count_and_boundary(void **state)
{
	(void)state;
	/* For every fill level 0..MAX, ranges of varying length with varying
	 * gaps (some adjacent), registered in a scrambled order. */
	struct span spans[IO_BUS_MAX_RANGES];
	for (unsigned n = 0; n <= IO_BUS_MAX_RANGES; n++) {
		u64 next = 0x10;
		for (unsigned i = 0; i < n; i++) {
			spans[i].start = next;
			spans[i].length = 1 + (i * 7) % 5;
			spans[i].name = "r";
			next = spans[i].start + spans[i].length + (i % 3); /* gap 0, 1 or 2 */
		}
		struct io_bus bus;
		io_bus_init(&bus, "port");
		for (unsigned k = 0; k < n; k++) {
			unsigned i = (k * 13 + 5) % n; /* 13 is coprime with every n <= 32 but 13, 26 */
			if (n == 13 || n == 26)
				i = n - 1 - k;
			assert_int_equal(io_bus_register(&bus, spans[i].start, spans[i].length, "r",
							 &spans[i], NULL, NULL),
					 0);
		}
		assert_int_equal(bus.count, n);
		for (u64 addr = 0; addr < next + 0x10; addr++)
			check_find_matches(&bus, spans, n, addr);
		check_find_matches(&bus, spans, n, UINT64_MAX);
	}
}

static void test_find_explicit_boundaries(void **state)
{
	(void)state;
	struct io_bus bus;
	io_bus_init(&bus, "MMIO");
	static const struct span m[] = {
		{ 0xfec00000ULL, 0x1000, "ioapic" },
		{ 0xfee00000ULL, 0x1000, "lapic" },
		{ 0xe0000000ULL, 0x10000000ULL, "ecam" },
		{ 0xfed00000ULL, 0x400, "hpet" },
		{ 0x100000000ULL, 0x1000, "high" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(m); i++)
		assert_int_equal(io_bus_register(&bus, m[i].start, m[i].length, m[i].name,
						 (void *)&m[i], NULL, NULL),
				 0);
	for (unsigned i = 0; i < ARRAY_SIZE(m); i++) {
		u64 s = m[i].start, e = m[i].start + m[i].length;
		const struct io_range *r;
		r = io_bus_find(&bus, s);
		assert_non_null(r);
		assert_string_equal(r->name, m[i].name);
		r = io_bus_find(&bus, e - 1);
		assert_non_null(r);
		assert_string_equal(r->name, m[i].name);
		assert_null(io_bus_find(&bus, e));
		assert_null(io_bus_find(&bus, s - 1));
		r = io_bus_find(&bus, s + m[i].length / 2);
		assert_non_null(r);
		assert_string_equal(r->name, m[i].name);
	}
	assert_null(io_bus_find(&bus, 0));
	assert_null(io_bus_find(&bus, 0xdfffffffULL));
	assert_null(io_bus_find(&bus, 0xf0000000ULL));
	assert_null(io_bus_find(&bus, 0xfec01000ULL));
	assert_null(io_bus_find(&bus, 0xfedfffffULL));
	assert_null(io_bus_find(&bus, 0xffffffffULL));
	assert_null(io_bus_find(&bus, UINT64_MAX));

	struct io_bus empty;
	io_bus_init(&empty, "port");
	assert_null(io_bus_find(&empty, 0));
	assert_null(io_bus_find(&empty, 0x3f8));
	assert_null(io_bus_find(&empty, UINT64_MAX));
}

/* ---- Dispatch ---- */

static void test_dispatch_offset_size_device_vcpu(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake_device uart = { .label = "uart" }, pit = { .label = "pit" };
	io_bus_init(&bus, "port");
	assert_int_equal(io_bus_register(&bus, 0x3f8, 8, "uart", &uart, fake_read, fake_write), 0);
	assert_int_equal(io_bus_register(&bus, 0x40, 4, "pit", &pit, fake_read, fake_write), 0);

	for (u64 port = 0x3f8; port < 0x400; port++) {
		for (unsigned k = 0; k < ARRAY_SIZE(access_sizes); k++) {
			unsigned size = access_sizes[k];
			u64 value = 0x5a5a5a5a5a5a5a5aULL;
			unsigned reads = uart.reads;
			uart.read_result = 0x11;
			io_bus_read(&bus, VCPU, "vm0", port, size, &value);
			assert_int_equal(uart.reads, reads + 1);
			assert_int_equal(uart.last_offset, port - 0x3f8);
			assert_int_equal(uart.last_size, size);
			assert_ptr_equal(uart.last_vcpu, VCPU);
			assert_int_equal(value, 0x11);

			unsigned writes = uart.writes;
			io_bus_write(&bus, VCPU, "vm0", port, size, 0x22);
			assert_int_equal(uart.writes, writes + 1);
			assert_int_equal(uart.last_offset, port - 0x3f8);
			assert_int_equal(uart.last_size, size);
			assert_ptr_equal(uart.last_vcpu, VCPU);
			assert_int_equal(uart.last_value, 0x22);
		}
	}
	assert_int_equal(pit.reads, 0);
	assert_int_equal(pit.writes, 0);

	u64 value;
	pit.read_result = 0x33;
	io_bus_read(&bus, NULL, "vm0", 0x43, 1, &value);
	assert_int_equal(pit.reads, 1);
	assert_int_equal(pit.last_offset, 3);
	assert_null(pit.last_vcpu);
	assert_int_equal(value, 0x33);
	io_bus_write(&bus, NULL, "vm0", 0x40, 2, 0x1234);
	assert_int_equal(pit.writes, 1);
	assert_int_equal(pit.last_offset, 0);
	assert_int_equal(pit.last_size, 2);
	assert_int_equal(pit.last_value, 0x1234);
	/* Claimed accesses are not unclaimed. */
	assert_int_equal(bus.unclaimed_accesses, 0);
	assert_int_equal(bus.logged_count, 0);

	/* MMIO: large offsets. */
	struct io_bus mmio;
	struct fake_device ecam = { .label = "ecam" };
	io_bus_init(&mmio, "MMIO");
	assert_int_equal(io_bus_register(&mmio, 0xe0000000ULL, 0x10000000ULL, "ecam", &ecam,
					 fake_read, fake_write),
			 0);
	ecam.read_result = 0x8086;
	io_bus_read(&mmio, VCPU, "vm0", 0xefffeffcULL, 4, &value);
	assert_int_equal(ecam.last_offset, 0x0fffeffcULL);
	assert_int_equal(ecam.last_size, 4);
	assert_int_equal(value, 0x8086);
	io_bus_write(&mmio, VCPU, "vm0", 0xe0000000ULL, 8, 0x0123456789abcdefULL);
	assert_int_equal(ecam.last_offset, 0);
	assert_int_equal(ecam.last_size, 8);
	assert_int_equal(ecam.last_value, 0x0123456789abcdefULL);
}

static void test_unclaimed_reads_all_ones(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake_device dev = { .label = "dev", .read_result = 0 };
	io_bus_init(&bus, "port");
	assert_int_equal(io_bus_register(&bus, 0x60, 1, "kbd", &dev, fake_read, fake_write), 0);
	clear_capture();
	for (unsigned k = 0; k < ARRAY_SIZE(access_sizes); k++) {
		unsigned size = access_sizes[k];
		u64 value = 0x123456789abcdef0ULL;
		io_bus_read(&bus, VCPU, "vm0", 0x61, size, &value);
		assert_int_equal(value, ones_for_size[size]);
		value = 0;
		io_bus_read(&bus, VCPU, "vm0", 0x5f, size, &value);
		assert_int_equal(value, ones_for_size[size]);
	}
	assert_int_equal(dev.reads, 0);
	assert_int_equal(bus.unclaimed_accesses, 8);
	/* Unclaimed writes go nowhere. */
	io_bus_write(&bus, VCPU, "vm0", 0x61, 1, 0xab);
	assert_int_equal(dev.writes, 0);
	assert_int_equal(bus.unclaimed_accesses, 9);
}

static void test_values_masked_to_size(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake_device dev = { .label = "dev" };
	io_bus_init(&bus, "MMIO");
	assert_int_equal(io_bus_register(&bus, 0x1000, 0x1000, "dev", &dev, fake_read, fake_write), 0);
	static const u64 wide = 0x8877665544332211ULL;
	static const u64 want[9] = {
		[1] = 0x11ULL,
		[2] = 0x2211ULL,
		[4] = 0x44332211ULL,
		[8] = 0x8877665544332211ULL,
	};
	for (unsigned k = 0; k < ARRAY_SIZE(access_sizes); k++) {
		unsigned size = access_sizes[k];
		u64 value = 0;
		/* A device that returns too many bits is cut to the access size. */
		dev.read_result = wide;
		io_bus_read(&bus, VCPU, "vm0", 0x1010, size, &value);
		assert_int_equal(value, want[size]);
		/* A device that returns all-ones: likewise. */
		dev.read_result = UINT64_MAX;
		io_bus_read(&bus, VCPU, "vm0", 0x1010, size, &value);
		assert_int_equal(value, ones_for_size[size]);
		/* A write carrying stray high bits reaches the device cut to size. */
		io_bus_write(&bus, VCPU, "vm0", 0x1010, size, wide);
		assert_int_equal(dev.last_value, want[size]);
		assert_int_equal(dev.last_size, size);
	}
}

static void test_null_handlers(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake_device only_read = { .label = "r", .read_result = 0x42 };
	struct fake_device only_write = { .label = "w" };
	io_bus_init(&bus, "port");
	assert_int_equal(io_bus_register(&bus, 0x80, 1, "post", NULL, NULL, NULL), 0);
	assert_int_equal(io_bus_register(&bus, 0x90, 4, "ro", &only_read, fake_read, NULL), 0);
	assert_int_equal(io_bus_register(&bus, 0xa0, 4, "wo", &only_write, NULL, fake_write), 0);
	clear_capture();
	for (unsigned k = 0; k < ARRAY_SIZE(access_sizes); k++) {
		unsigned size = access_sizes[k];
		u64 value = 0;
		io_bus_read(&bus, VCPU, "vm0", 0x80, size, &value);
		assert_int_equal(value, ones_for_size[size]);
		io_bus_write(&bus, VCPU, "vm0", 0x80, size, 0x12);

		io_bus_write(&bus, VCPU, "vm0", 0x91, size, 0x12); /* dropped */
		io_bus_read(&bus, VCPU, "vm0", 0x91, size, &value);
		assert_int_equal(value, 0x42);

		value = 0;
		io_bus_read(&bus, VCPU, "vm0", 0xa2, size, &value);
		assert_int_equal(value, ones_for_size[size]);
		io_bus_write(&bus, VCPU, "vm0", 0xa2, size, 0x34);
		assert_int_equal(only_write.last_offset, 2);
		assert_int_equal(only_write.last_value, 0x34);
	}
	assert_int_equal(only_read.reads, 4);
	assert_int_equal(only_read.writes, 0);
	assert_int_equal(only_write.writes, 4);
	assert_int_equal(only_write.reads, 0);
	/* A range with NULL handlers is claimed: not counted, not logged. */
	assert_int_equal(bus.unclaimed_accesses, 0);
	assert_int_equal(captured_count, 0);
}

/* ---- Unclaimed-access logging ---- */

static bool contains(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

static void test_unclaimed_logging_rate_limited(void **state)
{
	(void)state;
	struct io_bus bus;
	io_bus_init(&bus, "port");
	assert_int_equal(reg(&bus, 0x3f8, 8, "com1"), 0);
	clear_capture();

	/* 24 distinct unclaimed ports, each hit 3 times (read, write, read). */
	enum { DISTINCT = IO_BUS_LOG_LIMIT + 8, REPEATS = 3 };
	u64 addrs[DISTINCT];
	for (unsigned i = 0; i < DISTINCT; i++)
		addrs[i] = 0x100 + 0x11 * i;
	u64 total = 0;
	for (unsigned rep = 0; rep < REPEATS; rep++) {
		for (unsigned i = 0; i < DISTINCT; i++) {
			u64 value;
			if (rep == 1)
				io_bus_write(&bus, VCPU, "guest7", addrs[i], 2, 0);
			else
				io_bus_read(&bus, VCPU, "guest7", addrs[i], 1, &value);
			total++;
			/* Repeats are never logged again; nothing past the limit is. */
			unsigned want_lines = rep == 0 ? MIN(i + 1, IO_BUS_LOG_LIMIT) : IO_BUS_LOG_LIMIT;
			assert_int_equal(captured_count, want_lines);
			assert_int_equal(bus.unclaimed_accesses, total);
		}
	}
	assert_int_equal(bus.unclaimed_accesses, (u64)DISTINCT * REPEATS);
	assert_int_equal(bus.logged_count, IO_BUS_LOG_LIMIT);

	/* Lines name the VM, the bus kind, the direction, the size and the address. */
	for (unsigned i = 0; i < IO_BUS_LOG_LIMIT; i++) {
		char hex[32];
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)addrs[i]);
		if (!contains(captured[i], hex) || !contains(captured[i], "guest7") ||
		    !contains(captured[i], "port") || !contains(captured[i], "read") ||
		    !contains(captured[i], "1 byte"))
			fail_msg("line %u lacks details: '%s'", i, captured[i]);
		assert_true(captured_level[i] != LOG_ERROR);
	}
	/* Claimed accesses change nothing. */
	u64 value;
	io_bus_read(&bus, VCPU, "guest7", 0x3f8, 1, &value);
	assert_int_equal(bus.unclaimed_accesses, (u64)DISTINCT * REPEATS);
	assert_int_equal(captured_count, IO_BUS_LOG_LIMIT);

	/* io_bus_init starts a fresh log. */
	io_bus_init(&bus, "MMIO");
	clear_capture();
	io_bus_write(&bus, VCPU, "guest8", 0xfed40000ULL, 4, 1);
	assert_int_equal(captured_count, 1);
	assert_int_equal(bus.unclaimed_accesses, 1);
	assert_true(contains(captured[0], "0xfed40000"));
	assert_true(contains(captured[0], "MMIO"));
	assert_true(contains(captured[0], "write"));
	assert_true(contains(captured[0], "guest8"));
	assert_true(contains(captured[0], "4 bytes"));
}

static void test_unclaimed_logging_per_address_not_per_direction(void **state)
{
	(void)state;
	struct io_bus a, b;
	io_bus_init(&a, "port");
	io_bus_init(&b, "port");
	clear_capture();
	u64 value;
	/* Same address by read, write and other sizes: one line. */
	io_bus_read(&a, VCPU, "vm", 0x70, 1, &value);
	io_bus_write(&a, VCPU, "vm", 0x70, 1, 0);
	io_bus_read(&a, VCPU, "vm", 0x70, 4, &value);
	assert_int_equal(captured_count, 1);
	assert_int_equal(a.unclaimed_accesses, 3);
	/* Neighbouring addresses are distinct. */
	io_bus_read(&a, VCPU, "vm", 0x71, 1, &value);
	io_bus_read(&a, VCPU, "vm", 0x6f, 1, &value);
	assert_int_equal(captured_count, 3);
	/* Each bus keeps its own log. */
	io_bus_read(&b, VCPU, "vm", 0x70, 1, &value);
	assert_int_equal(captured_count, 4);
	assert_int_equal(b.unclaimed_accesses, 1);
	assert_int_equal(a.unclaimed_accesses, 5);
	/* A hostile guest sweeping every port logs only IO_BUS_LOG_LIMIT lines. */
	struct io_bus c;
	io_bus_init(&c, "port");
	clear_capture();
	for (u64 port = 0; port < 0x10000; port++)
		io_bus_read(&c, VCPU, "hostile", port, 1, &value);
	assert_int_equal(captured_count, IO_BUS_LOG_LIMIT);
	assert_int_equal(c.unclaimed_accesses, 0x10000);
	for (unsigned i = 0; i < IO_BUS_LOG_LIMIT; i++) {
		char hex[16];
		snprintf(hex, sizeof(hex), "0x%x", i);
		/* "0x%x" followed by a non-hex character: exact address. */
		const char *at = strstr(captured[i], hex);
		assert_non_null(at);
		char after = at[strlen(hex)];
		assert_false(isxdigit((unsigned char)after));
	}
}

/* ---- Memory map ---- */

struct mspan {
	u64 gpa, size;
};

static void test_memmap_sorted_insert(void **state)
{
	(void)state;
	static const struct mspan r[] = {
		{ 0x100000, 0x1ff00000 }, /* [1 MiB, 512 MiB) */
		{ 0x0, 0x9f000 },
		{ 0xf0000, 0x10000 },
		{ 0x9f000, 0x1000 },
		{ 0x100000000ULL, 0x40000000ULL },
	};
	static const unsigned sorted[] = { 1, 3, 2, 0, 4 };
	unsigned order[5] = { 0, 1, 2, 3, 4 };
	do {
		struct memmap map = { 0 };
		for (unsigned i = 0; i < 5; i++) {
			const struct mspan *s = &r[order[i]];
			assert_int_equal(memmap_add(&map, s->gpa, s->size,
						    order[i] % 2 ? MEMMAP_RAM_RESERVED : MEMMAP_RAM,
						    (u8 *)0x7f0000000000ULL + s->gpa,
						    0x40000000ULL + s->gpa),
					 0);
		}
		assert_int_equal(map.count, 5);
		for (unsigned i = 0; i < 5; i++) {
			const struct memmap_region *m = &map.region[i];
			const struct mspan *s = &r[sorted[i]];
			assert_int_equal(m->gpa, s->gpa);
			assert_int_equal(m->size, s->size);
			assert_int_equal(m->kind, sorted[i] % 2 ? MEMMAP_RAM_RESERVED : MEMMAP_RAM);
			assert_ptr_equal(m->host, (u8 *)0x7f0000000000ULL + s->gpa);
			assert_int_equal(m->hpa, 0x40000000ULL + s->gpa);
		}
	} while (next_permutation(order, 5));
}

static void test_memmap_overlap_empty_full(void **state)
{
	(void)state;
	struct memmap map = { 0 };
	assert_int_equal(memmap_add(&map, 0x100000, 0x100000, MEMMAP_RAM, NULL, 0), 0);
	assert_int_equal(memmap_add(&map, 0x300000, 0x100000, MEMMAP_RAM, NULL, 0), 0);
	static const struct mspan bad[] = {
		{ 0x100000, 0x100000 }, { 0x100000, 0x1000 }, { 0x100000, 0x300000 },
		{ 0x150000, 0x1000 },   { 0x1ff000, 0x1000 }, { 0x0ff000, 0x2000 },
		{ 0x1ff000, 0x2000 },   { 0x0, 0x1000000 },   { 0x1ff000, 0x102000 },
		{ 0x200000, 0x100001 }, { 0x3fffff, 1 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		if (memmap_add(&map, bad[i].gpa, bad[i].size, MEMMAP_RAM, NULL, 0) != -1)
			fail_msg("overlap %u [0x%llx, +0x%llx) accepted", i,
				 (unsigned long long)bad[i].gpa, (unsigned long long)bad[i].size);
		assert_int_equal(map.count, 2);
	}
	assert_int_equal(memmap_add(&map, 0x1000, 0, MEMMAP_RAM, NULL, 0), -1);
	assert_int_equal(memmap_add(&map, 0xfffffffffffff000ULL, 0x2000, MEMMAP_RAM, NULL, 0), -1);
	assert_int_equal(memmap_add(&map, UINT64_MAX, 2, MEMMAP_RAM, NULL, 0), -1);
	assert_int_equal(map.count, 2);
	/* Adjacent both sides and filling the gap exactly. */
	assert_int_equal(memmap_add(&map, 0x0ff000, 0x1000, MEMMAP_RAM, NULL, 0), 0);
	assert_int_equal(memmap_add(&map, 0x400000, 0x1000, MEMMAP_RAM, NULL, 0), 0);
	assert_int_equal(memmap_add(&map, 0x200000, 0x100000, MEMMAP_RAM, NULL, 0), 0);
	assert_int_equal(map.count, 5);
	for (unsigned i = 1; i < map.count; i++)
		assert_int_equal(map.region[i].gpa, map.region[i - 1].gpa + map.region[i - 1].size);

	struct memmap full = { 0 };
	for (unsigned i = 0; i < MEMMAP_MAX_REGIONS; i++)
		assert_int_equal(memmap_add(&full, (MEMMAP_MAX_REGIONS - i) * 0x10000ULL, 0x1000,
					    MEMMAP_RAM, NULL, 0),
				 0);
	assert_int_equal(full.count, MEMMAP_MAX_REGIONS);
	assert_int_equal(memmap_add(&full, 0, 0x1000, MEMMAP_RAM, NULL, 0), -1);
	assert_int_equal(memmap_add(&full, 0x1000000, 0x1000, MEMMAP_RAM, NULL, 0), -1);
	assert_int_equal(full.count, MEMMAP_MAX_REGIONS);
	for (unsigned i = 0; i < MEMMAP_MAX_REGIONS; i++)
		assert_int_equal(full.region[i].gpa, (i + 1) * 0x10000ULL);
}

static void test_memmap_find_boundaries(void **state)
{
	(void)state;
	struct memmap map = { 0 };
	/* [0, 0x9f000) RAM, [0x9f000, 0xa0000) reserved, hole, [0xf0000, 0x100000)
	 * reserved, [1 MiB, 512 MiB) RAM, and a region at the very top. */
	assert_int_equal(memmap_add(&map, 0x100000, 0x1ff00000, MEMMAP_RAM, NULL, 0x100000), 0);
	assert_int_equal(memmap_add(&map, 0, 0x9f000, MEMMAP_RAM, NULL, 0), 0);
	assert_int_equal(memmap_add(&map, 0x9f000, 0x1000, MEMMAP_RAM_RESERVED, NULL, 0x9f000), 0);
	assert_int_equal(memmap_add(&map, 0xf0000, 0x10000, MEMMAP_RAM_RESERVED, NULL, 0xf0000), 0);
	assert_int_equal(memmap_add(&map, 0xffffffffffffe000ULL, 0x1000, MEMMAP_RAM, NULL, 7), 0);

	struct {
		u64 gpa, len, want_gpa; /* want_gpa ~0: NULL */
	} cases[] = {
		{ 0, 1, 0 },
		{ 0, 0x9f000, 0 },
		{ 0, 0x9f001, ~0ULL },        /* runs into the next region */
		{ 0x9efff, 1, 0 },
		{ 0x9efff, 2, ~0ULL },        /* straddles two adjacent regions */
		{ 0x9f000, 1, 0x9f000 },
		{ 0x9ffff, 1, 0x9f000 },
		{ 0xa0000, 1, ~0ULL },        /* VGA hole */
		{ 0xeffff, 1, ~0ULL },
		{ 0xeffff, 2, ~0ULL },
		{ 0xf0000, 0x10000, 0xf0000 },
		{ 0xfffff, 1, 0xf0000 },
		{ 0xfffff, 2, ~0ULL },
		{ 0x100000, 1, 0x100000 },
		{ 0x100000, 0x1ff00000, 0x100000 },
		{ 0x100000, 0x1ff00001, ~0ULL },
		{ 0x1fffffff, 1, 0x100000 },
		{ 0x1ffffff8, 8, 0x100000 },
		{ 0x1ffffff9, 8, ~0ULL },
		{ 0x20000000, 1, ~0ULL },
		{ 0xffffffffffffdfffULL, 1, ~0ULL },
		{ 0xffffffffffffe000ULL, 0x1000, 0xffffffffffffe000ULL },
		{ 0xffffffffffffefffULL, 1, 0xffffffffffffe000ULL },
		{ 0xffffffffffffefffULL, 2, ~0ULL },
		/* gpa + len wraps past 2^64 into region 0: must not match. */
		{ 0xffffffffffffe000ULL, 0x2000 + 0x10, ~0ULL },
		{ UINT64_MAX, 2, ~0ULL },
		{ 0x10, UINT64_MAX, ~0ULL },
		{ UINT64_MAX, 1, ~0ULL },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct memmap_region *r = memmap_find(&map, cases[i].gpa, cases[i].len);
		if (cases[i].want_gpa == ~0ULL) {
			if (r)
				fail_msg("case %u: [0x%llx, +0x%llx) found region 0x%llx", i,
					 (unsigned long long)cases[i].gpa,
					 (unsigned long long)cases[i].len,
					 (unsigned long long)r->gpa);
		} else {
			if (!r)
				fail_msg("case %u: [0x%llx, +0x%llx) not found", i,
					 (unsigned long long)cases[i].gpa,
					 (unsigned long long)cases[i].len);
			assert_int_equal(r->gpa, cases[i].want_gpa);
		}
	}
	struct memmap empty = { 0 };
	assert_null(memmap_find(&empty, 0, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_sorted_in_any_order),
		cmocka_unit_test(test_register_overlaps_rejected),
		cmocka_unit_test(test_register_empty_and_overflow_rejected),
		cmocka_unit_test(test_register_bus_full),
		cmocka_unit_test(test_find_every_count_and_boundary),
		cmocka_unit_test(test_find_explicit_boundaries),
		cmocka_unit_test(test_dispatch_offset_size_device_vcpu),
		cmocka_unit_test(test_unclaimed_reads_all_ones),
		cmocka_unit_test(test_values_masked_to_size),
		cmocka_unit_test(test_null_handlers),
		cmocka_unit_test(test_unclaimed_logging_rate_limited),
		cmocka_unit_test(test_unclaimed_logging_per_address_not_per_direction),
		cmocka_unit_test(test_memmap_sorted_insert),
		cmocka_unit_test(test_memmap_overlap_empty_full),
		cmocka_unit_test(test_memmap_find_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
