# tk103-tools: one flat, non-recursive Makefile.
#
#   make                 build libtk103.a and every tool into $(O)/
#   make check           install missing Debian packages, build, run every suite
#   make check SANITIZE=1  the same, built with ASan+UBSan into build-san/
#   make demo            install missing packages, build, run the sample pipeline
#   make install DESTDIR=... PREFIX=...
#
# User CFLAGS/LDFLAGS/CPPFLAGS are appended to ours.

VERSION      = 0.3.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
COMPLETIONSDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR      ?= $(PREFIX)/share/doc/tk103-tools

CC          ?= cc
AR          ?= ar
PKG_CONFIG  ?= pkg-config
INSTALL     ?= install

ifeq ($(FUZZ),1)
O           ?= build-fuzz
CC           = clang
SANFLAGS     = -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SANITIZE),1)
O           ?= build-san
SANFLAGS     = -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
else
O           ?= build
SANFLAGS     =
endif

# Every external library goes through pkg-config.
PKGS         = libbsd-overlay libseccomp geos json-c libxml-2.0 libcurl libnats
PKG_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARNFLAGS    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef \
               -Wvla -Wwrite-strings -Wnull-dereference -Wimplicit-fallthrough
# Link-time optimisation of the tools with gcc (tk-decode 8% faster): the
# objects carry LTO bytecode and regular code (fat), so the test programs
# and programs built against the installed libtk103.a link without it.
# Off for clang (its LTO needs a linker plugin), sanitizer and fuzz builds.
ifeq ($(findstring clang,$(CC))$(SANITIZE)$(FUZZ),)
LTO          = -flto=auto -ffat-lto-objects
endif

# Profile-guided optimisation of that gcc build: every object is first
# built instrumented into $(O)/pgo/; scripts/pgo-train runs that tk-decode
# over the real device messages in tests/data (never the benchmark's
# corpora); then each object is compiled with the branch counts it wrote
# (the .gcda files in $(O)/pgo/).  tk-decode is 1.04x-1.22x as fast as
# with PGO=0 (scripts/bench-decode with BENCH_BASE= a PGO=0 build).
# PGO=0 builds without it: a cross build, or quicker iterations (with it,
# any source change rebuilds every object twice and reruns the training).
ifneq ($(LTO),)
PGO         ?= 1
else
override PGO = 0
endif
ifeq ($(PGO),1)
PGO_DIR      = $(O)/pgo
PGO_STAMP    = $(PGO_DIR)/trained
PGO_GEN      = -fprofile-generate -fprofile-update=single
# untrained functions (the other tools' code) stay optimised for speed; an
# object without counts (code tk-decode does not link) is no error, but
# one with counts that do not match fails (-Wmissing-profile, -Werror)
PGO_USE      = -fprofile-use -fprofile-partial-training
endif

TK_CPPFLAGS  = -D_GNU_SOURCE -DTK_VERSION='"$(VERSION)"' -Ilib
TK_CFLAGS    = -std=c17 -O3 -g $(WARNFLAGS) $(SANFLAGS) -MMD -MP
TK_LDFLAGS   = $(SANFLAGS) -Wl,--as-needed

ALL_CPPFLAGS = $(TK_CPPFLAGS) $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(TK_CFLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(TK_LDFLAGS) $(LDFLAGS)

LIB_SRCS    := $(sort $(wildcard lib/*.c))
LIB_OBJS    := $(LIB_SRCS:%.c=$(O)/%.o)
LIB_A        = $(O)/libtk103.a
# The shared library: position-independent objects of their own, only tk_
# symbols exported (lib/libtk103.map), the soname carries the major version.
SO_MAJOR    := $(firstword $(subst ., ,$(VERSION)))
LIB_SONAME   = libtk103.so.$(SO_MAJOR)
LIB_SO       = $(O)/libtk103.so.$(VERSION)
LIB_PIC_OBJS := $(LIB_SRCS:%.c=$(O)/pic/%.o)
# The public API: tk103.h and the headers it includes, installed under
# include/tk103/ (#include <tk103/tk103.h>); the others stay inside.
PUB_HDRS    := lib/tk103.h $(addprefix lib/,$(shell sed -n \
               's/^\#include "\(tk_[a-z0-9_]*\.h\)".*/\1/p' lib/tk103.h))
UNITS       := $(patsubst dist/systemd/%.in,%,$(sort $(wildcard dist/systemd/*.service.in)))

CLI_SRCS    := $(filter-out cmd/tk-%.c,$(sort $(wildcard cmd/*.c)))
CLI_OBJS    := $(CLI_SRCS:%.c=$(O)/%.o)
TOOL_SRCS   := $(sort $(wildcard cmd/tk-*.c))
TOOLS       := $(TOOL_SRCS:cmd/%.c=%)
TOOL_BINS   := $(TOOLS:%=$(O)/bin/%)

UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
UNIT_HELP   := $(filter-out tests/unit/test_%.c,$(sort $(wildcard tests/unit/*.c)))
UNIT_HOBJS  := $(UNIT_HELP:%.c=$(O)/%.o)

FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)

MAN1        := $(sort $(wildcard man/*.1))
MAN5        := $(sort $(wildcard man/*.5))
MAN7        := $(sort $(wildcard man/*.7))

# V=1 shows the full commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

# objects and test objects are kept, not deleted as intermediates
.SECONDARY:

.PHONY: all lib tools tests check check-unit check-cli check-man check-install check-valgrind deps demo \
        install uninstall clean bench fuzz fuzz-bins

all: $(TOOL_BINS) $(LIB_SO)

lib: $(LIB_A) $(LIB_SO)
tools: $(TOOL_BINS)
tests: $(UNIT_BINS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(LTO) $(ALL_CFLAGS) $(if $(PGO_USE),$(PGO_USE) \
		-dumpbase $(PGO_DIR)/$* $(if $(wildcard $(PGO_DIR)/$*.gcda),,-Wno-missing-profile)) \
		-c -o $@ $<

ifeq ($(PGO),1)
# the profile first (see PGO above)
$(LIB_OBJS) $(CLI_OBJS) $(TOOL_SRCS:%.c=$(O)/%.o): $(PGO_STAMP)

$(PGO_DIR)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $< (instrumented)")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(LTO) $(ALL_CFLAGS) $(PGO_GEN) -dumpbase $(PGO_DIR)/$* -c -o $@ $<

$(PGO_DIR)/libtk103.a: $(LIB_SRCS:%.c=$(PGO_DIR)/%.o)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(PGO_DIR)/tk-decode: $(PGO_DIR)/cmd/tk-decode.o $(CLI_SRCS:%.c=$(PGO_DIR)/%.o) \
		$(PGO_DIR)/libtk103.a
	@$(if $(Q),echo "  LD      $@ (instrumented)")
	$(Q)$(CC) $(LTO) $(ALL_CFLAGS) $(PGO_GEN) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# train: the counts land in $(PGO_DIR)/*/NAME.gcda, where the final
# compile (the same -dumpbase, so that the profile ids of static functions
# match) reads them
$(PGO_STAMP): $(PGO_DIR)/tk-decode scripts/pgo-train $(wildcard tests/data/vectors/*.tsv) \
		$(wildcard tests/data/captures/*.raw)
	@$(if $(Q),echo "  TRAIN   $(PGO_DIR)/tk-decode")
	$(Q)rm -f $(PGO_DIR)/lib/*.gcda $(PGO_DIR)/cmd/*.gcda
	$(Q)sh scripts/pgo-train $(PGO_DIR)/tk-decode $(PGO_DIR)/train
	$(Q)[ -f $(PGO_DIR)/lib/tk_decode.gcda ] || { echo "pgo: no profile written" >&2; exit 1; }
	$(Q)touch $@
endif

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $(LIB_OBJS)

$(O)/pic/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $< (PIC)")
	$(Q)$(CC) $(ALL_CPPFLAGS) -fPIC $(ALL_CFLAGS) -c -o $@ $<

$(LIB_SO): $(LIB_PIC_OBJS) lib/libtk103.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(ALL_CFLAGS) $(ALL_LDFLAGS) -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=lib/libtk103.map -o $@ $(LIB_PIC_OBJS) $(PKG_LIBS) -lm

$(O)/bin/%: $(O)/cmd/%.o $(CLI_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LTO) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CLI_OBJS) $(LIB_A) $(PKG_LIBS) -lm

$(O)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(CMOCKA_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/tests/%: $(O)/tests/unit/%.o $(UNIT_HOBJS) $(LIB_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(UNIT_HOBJS) $(LIB_A) \
		$(CMOCKA_LIBS) $(PKG_LIBS) -lm

# ---- tests -------------------------------------------------------------
# check installs what is missing first (scripts/deps is quick when nothing is).
check: deps
	@$(MAKE) --no-print-directory -j2 all tests
	@$(MAKE) --no-print-directory check-unit check-cli check-man check-install

check-unit: $(UNIT_BINS)
	@sh scripts/run-unit $(UNIT_BINS)

check-cli: $(TOOL_BINS)
	@TK_BIN=$(CURDIR)/$(O)/bin sh scripts/run-bats tests/cli

# The whole bats suite with every tool under valgrind memcheck; any
# memcheck error (exit 99, or a non-empty log) fails.
check-valgrind: $(TOOL_BINS)
	@rm -rf $(O)/vg && sh scripts/valgrind-bin $(O)/bin $(O)/vg
	@TK_BIN=$(CURDIR)/$(O)/vg TK_REAL_BIN=$(CURDIR)/$(O)/bin TK_WAIT=60 TK_VALGRIND=1 sh scripts/run-bats tests/cli; rc=$$?; \
	 bad=$$(find $(O)/vg/logs -name '*.log' -size +0 | head -20); \
	 if [ -n "$$bad" ]; then echo "valgrind reported errors:"; \
	   for f in $$bad; do echo "== $$f"; head -30 $$f; done; exit 1; fi; exit $$rc

# make install into a scratch DESTDIR, then build a program against it
check-install: all
	@sh scripts/check-install

check-man:
	@sh scripts/check-man $(MAN1) $(MAN5) $(MAN7)

deps:
	@sh scripts/deps

demo: deps
	@$(MAKE) --no-print-directory all
	@TK_BIN=$(CURDIR)/$(O)/bin bash scripts/demo

# libFuzzer harnesses (clang, ASan+UBSan) into build-fuzz/; scripts/fuzz runs them.
fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(O)/fuzz/%: tests/fuzz/%.c $(LIB_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(LIB_A) $(PKG_LIBS) -lm

bench: all
	@for b in scripts/bench-*; do echo "== $$b"; TK_BIN=$(CURDIR)/$(O)/bin $$b || exit 1; done

# ---- install -----------------------------------------------------------
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/tk103 $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(COMPLETIONSDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libtk103.so
	$(INSTALL) -m 0644 $(PUB_HDRS) $(DESTDIR)$(INCLUDEDIR)/tk103/
	@printf '%s\n' \
	  'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' \
	  'libdir=$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))' \
	  'includedir=$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))' '' \
	  'Name: libtk103' \
	  'Description: TK103-family GPS tracker protocols: detection, framing, decoding, commands' \
	  'Version: $(VERSION)' \
	  'Requires.private: $(PKGS)' \
	  'Cflags: -I$${includedir}' \
	  'Libs: -L$${libdir} -ltk103' \
	  'Libs.private: -lm' > $(DESTDIR)$(PKGCONFIGDIR)/libtk103.pc
	@chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libtk103.pc
	$(INSTALL) -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(if $(MAN5),$(INSTALL) -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN7),$(INSTALL) -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	for u in $(UNITS); do \
	  sed 's|@BINDIR@|$(BINDIR)|g' dist/systemd/$$u.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	$(INSTALL) -m 0644 dist/bash-completion/tk103-tools $(DESTDIR)$(COMPLETIONSDIR)/tk103-tools
	for t in $(TOOLS); do ln -sf tk103-tools $(DESTDIR)$(COMPLETIONSDIR)/$$t; done
	$(INSTALL) -m 0644 dist/logrotate/tk103-tools $(DESTDIR)$(DOCDIR)/logrotate.tk103-tools

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(LIBDIR)/libtk103.a \
	  $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) \
	  $(DESTDIR)$(LIBDIR)/libtk103.so \
	  $(PUB_HDRS:lib/%=$(DESTDIR)$(INCLUDEDIR)/tk103/%) \
	  $(DESTDIR)$(PKGCONFIGDIR)/libtk103.pc \
	  $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) \
	  $(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%) \
	  $(MAN7:man/%=$(DESTDIR)$(MANDIR)/man7/%) \
	  $(UNITS:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%) \
	  $(DESTDIR)$(COMPLETIONSDIR)/tk103-tools $(TOOLS:%=$(DESTDIR)$(COMPLETIONSDIR)/%) \
	  $(DESTDIR)$(DOCDIR)/logrotate.tk103-tools
	-rmdir $(DESTDIR)$(INCLUDEDIR)/tk103 $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-clang build-fuzz

-include $(shell find $(O) -name '*.d' 2>/dev/null)
