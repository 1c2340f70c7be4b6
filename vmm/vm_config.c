/* Parsing of the per-VM words on module command lines. */
#include "vmm/vm_config.h"
#include "lib/print.h"
#include "lib/string.h"

#define WORD_MAX 128

struct word {
	const char *text;
	size_t length;
};

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static bool next_word(const char **cursor, struct word *w)
{
	const char *p = *cursor;
	while (*p && blank(*p))
		p++;
	if (!*p)
		return false;
	w->text = p;
	while (*p && !blank(*p))
		p++;
	w->length = (size_t)(p - w->text);
	*cursor = p;
	return true;
}

static bool word_is(struct word w, const char *s)
{
	return strlen(s) == w.length && !strncmp(w.text, s, w.length);
}

static bool word_has(struct word w, char c)
{
	for (size_t i = 0; i < w.length; i++)
		if (w.text[i] == c)
			return true;
	return false;
}

/* Decimal or 0x-hex, with an optional K/M/G suffix when 'sizes'. */
static bool parse_number(struct word w, bool sizes, u64 *out)
{
	u64 v = 0, radix = 10;
	size_t i = 0;
	if (w.length > 2 && w.text[0] == '0' && (w.text[1] == 'x' || w.text[1] == 'X'))
		radix = 16, i = 2;
	if (i == w.length)
		return false;
	for (; i < w.length; i++) {
		char c = w.text[i];
		u64 d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (radix == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (radix == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (v > (~0ULL - d) / radix)
			return false;
		v = v * radix + d;
	}
	if (i < w.length) {
		u64 shift;
		if (!sizes || i + 1 != w.length)
			return false;
		switch (w.text[i]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return false;
		}
		if (v > (~0ULL >> shift))
			return false;
		v <<= shift;
	}
	*out = v;
	return true;
}

static bool parse_bool(struct word w, bool *out)
{
	if (word_is(w, "1") || word_is(w, "yes") || word_is(w, "on")) {
		*out = true;
		return true;
	}
	if (word_is(w, "0") || word_is(w, "no") || word_is(w, "off")) {
		*out = false;
		return true;
	}
	return false;
}

/* "1", "0,2-3": host CPU indexes, in order, at most VM_CONFIG_MAX_VCPUS. */
static bool parse_cpu_list(struct word list, struct vm_config *vm)
{
	unsigned count = 0;
	size_t i = 0;
	while (i < list.length) {
		size_t start = i;
		while (i < list.length && list.text[i] != ',')
			i++;
		struct word item = { list.text + start, i - start }, low = item, high = item;
		for (size_t k = 0; k < item.length; k++) {
			if (item.text[k] == '-') {
				low = (struct word){ item.text, k };
				high = (struct word){ item.text + k + 1, item.length - k - 1 };
			}
		}
		u64 first, last;
		if (!parse_number(low, false, &first) || !parse_number(high, false, &last) || first > last ||
		    last > VM_CONFIG_MAX_CPU)
			return false;
		for (u64 c = first; c <= last; c++) {
			if (count == VM_CONFIG_MAX_VCPUS)
				return false;
			vm->cpus[count++] = (u8)c;
		}
		if (i < list.length)
			i++; /* the comma */
		if (i == list.length && list.text[i - 1] == ',')
			return false;
	}
	vm->cpu_count = count;
	return count > 0;
}

struct module_words {
	struct word name, role, memory, vcpus, cpus, after, debug_exit, test_device, format, load, entry, mode, console;
	const char *guest_cmdline;
};

static struct word *slot_for(struct module_words *m, struct word key)
{
	static const struct { const char *key; size_t offset; } keys[] = {
		{ "vm", __builtin_offsetof(struct module_words, name) },
		{ "role", __builtin_offsetof(struct module_words, role) },
		{ "mem", __builtin_offsetof(struct module_words, memory) },
		{ "vcpus", __builtin_offsetof(struct module_words, vcpus) },
		{ "cpus", __builtin_offsetof(struct module_words, cpus) },
		{ "after", __builtin_offsetof(struct module_words, after) },
		{ "debugexit", __builtin_offsetof(struct module_words, debug_exit) },
		{ "testdev", __builtin_offsetof(struct module_words, test_device) },
		{ "format", __builtin_offsetof(struct module_words, format) },
		{ "load", __builtin_offsetof(struct module_words, load) },
		{ "entry", __builtin_offsetof(struct module_words, entry) },
		{ "mode", __builtin_offsetof(struct module_words, mode) },
		{ "console", __builtin_offsetof(struct module_words, console) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (word_is(key, keys[i].key))
			return (struct word *)((u8 *)m + keys[i].offset);
	return NULL;
}

static int split_words(const char *cmdline, struct module_words *m, char *err, size_t len)
{
	const char *cursor = cmdline;
	struct word w;
	bool first = true;
	memset(m, 0, sizeof(*m));
	while (next_word(&cursor, &w)) {
		if (word_is(w, "--")) {
			while (*cursor && blank(*cursor))
				cursor++;
			m->guest_cmdline = cursor;
			return 0;
		}
		if (first && !word_has(w, '=')) { /* the module's own path, as GRUB passes it */
			first = false;
			continue;
		}
		first = false;
		size_t eq = 0;
		while (eq < w.length && w.text[eq] != '=')
			eq++;
		struct word key = { w.text, eq };
		struct word *slot = eq < w.length ? slot_for(m, key) : NULL;
		if (!slot) {
			ksnprintf(err, len, "module word '%.*s' is not understood; use vm=NAME and the "
				  "keys role= mem= vcpus= cpus= after= debugexit= testdev= format= load= entry= mode= console=, "
				  "and put guest arguments after --", (int)MIN(w.length, 40), w.text);
			return -1;
		}
		*slot = (struct word){ w.text + eq + 1, w.length - eq - 1 };
	}
	return 0;
}

static struct vm_config *find_or_create(struct vm_config_set *set, struct word name, char *err, size_t len)
{
	for (unsigned i = 0; i < set->count; i++)
		if (word_is(name, set->vm[i].name))
			return &set->vm[i];
	if (set->count == VM_CONFIG_MAX_VMS) {
		ksnprintf(err, len, "too many VMs: at most %d", VM_CONFIG_MAX_VMS);
		return NULL;
	}
	struct vm_config *vm = &set->vm[set->count++];
	memset(vm, 0, sizeof(*vm));
	memcpy(vm->name, name.text, name.length);
	vm->memory = VM_DEFAULT_MEMORY;
	vm->vcpus = 1;
	vm->real_mode = true;
	return vm;
}

static bool valid_name(struct word name)
{
	if (!name.length || name.length >= VM_CONFIG_NAME_MAX)
		return false;
	for (size_t i = 0; i < name.length; i++) {
		char c = name.text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

#define BAD(what, w, hint)                                                                  \
	do {                                                                                \
		ksnprintf(err, len, "vm %s: bad %s '%.*s' (%s)", vm->name, what,            \
			  (int)MIN((w).length, 40), (w).text, hint);                       \
		return -1;                                                                  \
	} while (0)

static int apply_words(struct vm_config *vm, const struct module_words *m, enum module_role *role,
		       char *err, size_t len)
{
	u64 n;
	bool b;
	*role = ROLE_KERNEL;
	if (m->role.text && !word_is(m->role, "kernel")) {
		if (!word_is(m->role, "initrd"))
			BAD("role", m->role, "use kernel or initrd");
		*role = ROLE_INITRD;
	}
	if (m->memory.text) {
		if (!parse_number(m->memory, true, &n) || n < VM_MIN_MEMORY || n > VM_MAX_MEMORY)
			BAD("mem", m->memory, "use a size like 16M or 1G, from 2M to 64G");
		vm->memory = n;
	}
	if (m->vcpus.text) {
		if (!parse_number(m->vcpus, false, &n) || n < 1 || n > VM_CONFIG_MAX_VCPUS)
			BAD("vcpus", m->vcpus, "use 1 to 64");
		vm->vcpus = (unsigned)n;
	}
	if (m->after.text) {
		if (!valid_name(m->after) || word_is(m->after, vm->name))
			BAD("after", m->after, "name another VM");
		memcpy(vm->after, m->after.text, m->after.length);
		vm->after[m->after.length] = '\0';
	}
	if (m->cpus.text && !parse_cpu_list(m->cpus, vm))
		BAD("cpus", m->cpus, "use host CPU numbers and ranges from 0 to 63, like 1 or 0,2-3");
	if (m->debug_exit.text) {
		if (!parse_bool(m->debug_exit, &b))
			BAD("debugexit", m->debug_exit, "use 0 or 1");
		vm->debug_exit = b;
	}
	if (m->test_device.text) {
		if (!parse_bool(m->test_device, &b))
			BAD("testdev", m->test_device, "use 0 or 1");
		vm->test_device = b;
	}
	if (m->format.text) {
		if (word_is(m->format, "auto"))
			vm->format = GUEST_FORMAT_AUTO;
		else if (word_is(m->format, "multiboot"))
			vm->format = GUEST_FORMAT_MULTIBOOT;
		else if (word_is(m->format, "flat"))
			vm->format = GUEST_FORMAT_FLAT;
		else if (word_is(m->format, "linux"))
			vm->format = GUEST_FORMAT_LINUX;
		else
			BAD("format", m->format, "use auto, multiboot, linux or flat");
	}
	if (m->load.text) {
		if (!parse_number(m->load, false, &vm->load_address))
			BAD("load", m->load, "use an address like 0x8000");
	}
	if (m->entry.text) {
		if (!parse_number(m->entry, false, &vm->entry_address))
			BAD("entry", m->entry, "use an address like 0x8000");
		vm->entry_set = true;
	}
	if (m->console.text) {
		if (word_is(m->console, "raw"))
			vm->raw_console = true;
		else if (word_is(m->console, "prefixed"))
			vm->raw_console = false;
		else
			BAD("console", m->console, "use raw or prefixed");
		vm->console_set = true;
	}
	if (m->mode.text) {
		if (word_is(m->mode, "real"))
			vm->real_mode = true;
		else if (word_is(m->mode, "protected"))
			vm->real_mode = false;
		else
			BAD("mode", m->mode, "use real or protected");
	}
	return 0;
}

void vm_config_set_init(struct vm_config_set *set) { set->count = 0; }

static int attach_module(struct vm_config *vm, enum module_role role, const struct module_words *m,
			 const u8 *data, u64 size, char *err, size_t len);

int vm_config_add_module(struct vm_config_set *set, const char *module_cmdline, const u8 *data,
			 u64 size, char *err, size_t len)
{
	struct module_words m;
	if (split_words(module_cmdline, &m, err, len))
		return -1;
	if (!m.name.text) {
		ksnprintf(err, len, "module \"%.60s\" names no VM; add vm=NAME to its command line",
			  module_cmdline);
		return -1;
	}
	if (!valid_name(m.name)) {
		ksnprintf(err, len, "bad VM name '%.*s': use up to %d letters, digits, '-', '_' or '.'",
			  (int)MIN(m.name.length, 40), m.name.text, VM_CONFIG_NAME_MAX - 1);
		return -1;
	}
	/* A rejected module leaves the set exactly as it was. */
	unsigned count_before = set->count;
	struct vm_config *live = find_or_create(set, m.name, err, len);
	if (!live)
		return -1;
	struct vm_config copy = *live, *vm = &copy;
	enum module_role role;
	if (apply_words(vm, &m, &role, err, len) || attach_module(vm, role, &m, data, size, err, len)) {
		set->count = count_before;
		return -1;
	}
	*live = copy;
	return 0;
}

static int attach_module(struct vm_config *vm, enum module_role role, const struct module_words *m,
			 const u8 *data, u64 size, char *err, size_t len)
{
	if (role == ROLE_KERNEL) {
		if (vm->kernel) {
			ksnprintf(err, len, "vm %s: two kernel modules; mark the second role=initrd", vm->name);
			return -1;
		}
		vm->kernel = data;
		vm->kernel_size = size;
		if (m->guest_cmdline)
			strncpy_terminated(vm->cmdline, m->guest_cmdline, sizeof(vm->cmdline));
	} else {
		if (vm->initrd) {
			ksnprintf(err, len, "vm %s: two initrd modules", vm->name);
			return -1;
		}
		vm->initrd = data;
		vm->initrd_size = size;
	}
	return 0;
}

int vm_config_check(const struct vm_config *vm, char *err, size_t len)
{
	if (!vm->kernel) {
		ksnprintf(err, len, "vm %s has no kernel module (role=kernel)", vm->name);
		return -1;
	}
	if (!vm->kernel_size) {
		ksnprintf(err, len, "vm %s: the kernel module is empty", vm->name);
		return -1;
	}
	if (vm->format == GUEST_FORMAT_FLAT && !vm->load_address) {
		ksnprintf(err, len, "vm %s: a flat image needs load=ADDR", vm->name);
		return -1;
	}
	return 0;
}
