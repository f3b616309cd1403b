EXTENSION = session
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed "s/.*'\(.*\)'/\1/")

MODULE_big = $(EXTENSION)
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

DATA = $(wildcard sql/*--*--*.sql) sql/$(EXTENSION)--0.1.0.sql sql/$(EXTENSION)--0.2.0.sql
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# installed with the documentation ($(pg_config --docdir)/extension)
DOCS = doc/prometheus/session-exporter-queries.yaml doc/prometheus/session-alert-rules.yml

TESTS = $(wildcard test/sql/*.sql)
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=pgtap --load-extension=$(EXTENSION)
ISOLATION_SPECS = $(wildcard test/specs/*.spec)
ISOLATION = $(patsubst test/specs/%.spec,%,$(ISOLATION_SPECS))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)
# make prove_installcheck: the TAP tests (PostgreSQL::Test::Cluster), helpers in test/t
TAP_TESTS = 1
PROVE_TESTS = $(wildcard test/t/*.pl)

# -Wextra flags the unused parameters of PostgreSQL's own inline functions and callback signatures
PG_CPPFLAGS = -Wall -Wextra -Wno-unused-parameter
# make DEVELOPMENT=1 (make test and CI): warnings are errors. Not in the default build,
# which users and packagers run with compilers newer than ours.
ifeq ($(DEVELOPMENT),1)
PG_CPPFLAGS += -Werror
endif
# one version source, the control file: the library checks the installed SQL against it
PG_CPPFLAGS += -DSESSION_VERSION='"$(EXTVERSION)"'

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

PROVE_FLAGS += -I ./test/t
# prove runs under test/scripts/subreaper, which reaps the servers the TAP tests kill
# with kill -9 where PID 1 does not (see there)
PROVE := $(CURDIR)/test/scripts/subreaper $(PROVE)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# PGXS defines the recipe (a macro) but no target; pgvector's idiom
.PHONY: prove_installcheck deps test matrix demo bench stress ha package dist
prove_installcheck:
	$(prove_installcheck)

# make deps: the Debian packages of make test (deps.sh demo / test / package)
deps:
	bash test/scripts/deps.sh test
test:
	bash test/scripts/test.sh
# make matrix: build with -Werror and run installcheck and prove_installcheck on
# PostgreSQL 15, 17 and 18 (MATRIX_VERSIONS), each but 15 in a root filesystem of its
# Debian suite; as root (see test/scripts/matrix.sh)
matrix:
	bash test/scripts/matrix.sh
demo:
	bash test/scripts/demo.sh
bench:
	bash test/bench/run.sh
stress:
	bash test/scripts/stress.sh
ha:
	bash test/ha/run.sh
package:
	bash test/scripts/package.sh

# The PGXN distribution: session-<version>.zip of HEAD (committed files only)
dist:
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD
