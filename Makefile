# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin

export JINBAO_HOME ?= $(CURDIR)/var
export JINBAO_REPO := $(CURDIR)
export AIRFLOW_HOME ?= $(JINBAO_HOME)/airflow
export AIRFLOW_CONFIG := $(CURDIR)/airflow.cfg
AIRFLOW_PORT ?= 8080

.PHONY: demo test fuzz bench airflow clean install

install: $(VENV)/.installed

$(VENV)/.installed: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[quality,test]"
	touch $@

## The bench extra (dlt, the peer of bench/feeds.py) on top of what `make install` puts in.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e ".[quality,test,bench]"
	touch $@

## Fresh JINBAO_HOME, a generated day of partner drops, every feed, a summary.
demo: install
	$(BIN)/python -m dev.sftp_demo

## The whole test suite (PostgreSQL, MariaDB and sshd required when CI=true).
test: install
	$(BIN)/pytest -q tests

## The fuzz tests at full strength: >= 10,000 examples per parser (`make test` runs a short profile).
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/fuzz

## Benchmarks (not tests): throughput and peak memory, recorded in BENCHMARKS.md; every benchmark, then
## one table; exits non-zero when a correctness check fails.
## `make bench QUICK=1`: small sizes, minutes instead of about an hour, to iterate.
bench: $(VENV)/.bench-installed
	$(BIN)/python bench/run_all.py $(if $(QUICK),--quick)

## Airflow UI, scheduler, DAG processor and triggerer (as `airflow standalone`, no log servers), metadata (SQLite) and
## logs under JINBAO_HOME: http://127.0.0.1:$(AIRFLOW_PORT), no login (a dev setup: everyone is admin; the shipped
## airflow.cfg asks for one, docs/access.md).  dev/airflow_up.py puts .venv/bin
## on PATH and gives every component the JWT secret it makes once in $(JINBAO_HOME)/airflow/.
airflow: install
	$(BIN)/python -m dev.airflow_up --port $(AIRFLOW_PORT)

clean:
	rm -rf $(JINBAO_HOME)
