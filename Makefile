# husk: an OCI container runtime.  `make`, `make test`, `make install PREFIX=...`
PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
PKGS     := libseccomp libcap libmnl json-c libsystemd libarchive nettle liblzma
VERSION  := 0.1.0
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
            -Wshadow -Wformat=2 -Wmissing-prototypes -fno-common \
            -D_GNU_SOURCE -DHUSK_VERSION='"$(VERSION)"' -DHUSK_COMMIT='"$(COMMIT)"'
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDFLAGS  ?=
LDLIBS   += $(PKG_LIBS)

# husk itself takes the three libraries every command uses from their
# Debian -dev archives (pkg-config --static): the dynamic linker then maps
# libc and libmnl only, which takes 0.3-0.5 ms off each command (bench/README.md).
# Where an archive is missing, everything stays shared.
STATIC_PKGS := libseccomp libcap json-c
STATIC_LIBDIR := $(shell pkg-config --variable=libdir libseccomp 2>/dev/null)
STATIC_ARCHIVES := $(wildcard $(addprefix $(STATIC_LIBDIR)/,libseccomp.a libcap.a libjson-c.a))
ifeq ($(words $(STATIC_ARCHIVES)),3)
STATIC_LIBS := $(shell pkg-config --static --libs $(STATIC_PKGS) 2>/dev/null)
HUSK_LDLIBS := -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic $(filter-out $(STATIC_LIBS),$(LDLIBS))
else
HUSK_LDLIBS := $(LDLIBS)
endif

# Every .c in a module folder is part of the runtime; main.c holds only main().
LIB_SRC  := $(wildcard base/*.c spec/*.c runtime/*.c rootfs/*.c cgroups/*.c netns/*.c vm/*.c image/*.c)
LIB_SRC  := $(filter-out runtime/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/trampoline/blob.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit unit-bins install clean asan asan-bin lint demo bench bench-vm fuzz
all: $(BUILD)/husk $(BUILD)/husk-image $(BUILD)/husk-agent

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# The exec trampoline (runtime/trampoline.h): a static, libc-free stub that
# husk embeds and runs from a sealed memfd. Its own fixed flags: husk's
# CFLAGS (sanitizers, -g, PIE) must not reach it.
STUB_CFLAGS  := -Os -std=gnu11 -Wall -Wextra -Werror -ffreestanding -fno-builtin \
                -fno-stack-protector -fno-pie -fno-asynchronous-unwind-tables \
                -fno-unwind-tables -fcf-protection=none -fno-ident
STUB_LDFLAGS := -nostdlib -static -no-pie -s -Wl,--build-id=none -Wl,-z,norelro \
                -Wl,-n -Wl,-z,noexecstack

$(BUILD)/trampoline/stub: runtime/trampoline/stub.c
	@mkdir -p $(dir $@)
	$(CC) $(STUB_CFLAGS) $(STUB_LDFLAGS) -o $@ $<

$(BUILD)/trampoline/blob.o: runtime/trampoline/blob.S $(BUILD)/trampoline/stub
	$(CC) -c -DSTUB_PATH='"$(BUILD)/trampoline/stub"' -o $@ $<

$(BUILD)/libhusk.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# --as-needed: husk loads only the libraries its start path uses; the image
# code (libarchive, nettle) lives in husk-image, which `husk bundle` runs.
$(BUILD)/husk: $(BUILD)/runtime/main.o $(BUILD)/libhusk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(HUSK_LDLIBS)

$(BUILD)/husk-image: $(BUILD)/image/tool/main.o $(BUILD)/libhusk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

# The micro-VM guest agent (vm/agent/): PID 1 in the guest, static because
# the guest has no libraries of ours. It shares libhusk.a's rootfs and
# process code; the linker takes only the objects it references.
AGENT_SRC := $(wildcard vm/agent/*.c)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/husk-agent: $(AGENT_OBJ) $(BUILD)/libhusk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^ -lseccomp -lcap -ljson-c

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libhusk.a $(LDLIBS)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

# Installs the build and test packages when missing (Debian 12).
deps:
	bash tests/install-deps.sh

unit-bins: $(UNIT_BIN)

# Both scripts install what is missing first, then build with a fresh make
# (pkg-config flags are read when make starts, so packages must come first).
test:
	bash tests/run.sh

ASAN_FLAGS := CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer' \
	      LDFLAGS='-fsanitize=address,undefined'
asan:
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) unit

# husk and husk-image under ASan + UBSan, for the integration suite
# (tests/run.sh). Not husk-agent: it is static, which ASan cannot be.
asan-bin:
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) build-asan/husk build-asan/husk-image

# libFuzzer targets (clang) for the parsers of untrusted input, FUZZ_SECONDS each.
fuzz:
	bash tests/fuzz/run.sh

# husk with fault points (base/fault.h) for tests/integration/test_crash_safety.py:
# same sources, its own build directory; the normal build never has them.
faults:
	$(MAKE) BUILD=build-faults CFLAGS='-O2 -g -DHUSK_FAULTS' build-faults/husk

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem $(PKG_CFLAGS) -D_GNU_SOURCE \
		base spec runtime rootfs cgroups netns image vm

install: $(BUILD)/husk $(BUILD)/husk-image $(BUILD)/husk-agent
	install -D -m 0755 $(BUILD)/husk $(DESTDIR)$(PREFIX)/bin/husk
	install -D -m 0755 $(BUILD)/husk-image $(DESTDIR)$(PREFIX)/bin/husk-image
	install -D -m 0755 $(BUILD)/husk-agent $(DESTDIR)$(PREFIX)/bin/husk-agent

demo:
	bash tests/demo.sh

bench: all
	bash bench/run.sh

# The same bundle as a container and as a micro-VM (issue 8's --compare-vm).
bench-vm: all
	bash bench/vm.sh

clean:
	rm -rf build build-asan build-faults

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
