EXTENSION = session
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed "s/.*'\(.*\)'/\1/")

MODULE_big = $(EXTENSION)
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

DATA = $(wildcard sql/*--*--*.sql) sql/$(EXTENSION)--0.1.0.sql
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql

TESTS = $(wildcard test/sql/*.sql)
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=pgtap --load-extension=$(EXTENSION)
ISOLATION_SPECS = $(wildcard test/specs/*.spec)
ISOLATION = $(patsubst test/specs/%.spec,%,$(ISOLATION_SPECS))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

# -Wextra flags the unused parameters of PostgreSQL's own inline functions and callback signatures
PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter
# one version source, the control file: the library checks the installed SQL against it
PG_CPPFLAGS += -DSESSION_VERSION='"$(EXTVERSION)"'

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

.PHONY: deps test demo bench stress
deps:
	bash test/scripts/deps.sh
test:
	bash test/scripts/test.sh
demo:
	bash test/scripts/demo.sh
bench:
	bash test/bench/run.sh
stress:
	bash test/stress/run.sh
