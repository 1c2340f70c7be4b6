# The default Linux guest (guests/linux/README.md). Included from the top-level
# Makefile; paths are relative to the repository root.
#
#   make linux-guest          build $(LINUX_GUEST_KERNEL) and $(LINUX_GUEST_INITRD)
#                             (downloads Debian packages the first time, then cached)
#   make linux-guest-smoke    build, then boot them under plain QEMU TCG (no Presidio)
#                             and check banner, shell and poweroff
#   make linux-guest-clean    remove build/linux, cache included: the next build
#                             picks up the newest kernel in the apt sources
#
# LINUX_PACKAGE=linux-image-6.1.0-56-amd64 make linux-guest  pins a kernel package.

# Keep whatever default goal the including Makefile has (or will have).
LINUX_GUEST_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

LINUX_GUEST_DIR := $(or $(BUILD),build)/linux
LINUX_GUEST_KERNEL := $(LINUX_GUEST_DIR)/vmlinuz
LINUX_GUEST_INITRD := $(LINUX_GUEST_DIR)/initrd.img
LINUX_GUEST_CMDLINE := console=ttyS0 panic=-1

.PHONY: linux-guest linux-guest-smoke linux-guest-clean

# build.sh does its own caching (a no-op run takes milliseconds), so it runs
# every time; the outputs' mtimes are refreshed for rules that depend on them.
linux-guest:
	guests/linux/build.sh --out $(LINUX_GUEST_DIR)
	@touch $(LINUX_GUEST_KERNEL) $(LINUX_GUEST_INITRD)

$(LINUX_GUEST_KERNEL) $(LINUX_GUEST_INITRD) &: guests/linux/build.sh guests/linux/init
	guests/linux/build.sh --out $(LINUX_GUEST_DIR)
	@touch $(LINUX_GUEST_KERNEL) $(LINUX_GUEST_INITRD)

linux-guest-smoke:
	guests/linux/build.sh --out $(LINUX_GUEST_DIR) --smoke

linux-guest-clean:
	rm -rf $(LINUX_GUEST_DIR)

.DEFAULT_GOAL := $(LINUX_GUEST_SAVED_DEFAULT_GOAL)
