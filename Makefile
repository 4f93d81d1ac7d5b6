# The two commands a newcomer needs: `make run` and `make test`. Both set up what is missing first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup prompts run test test-topology topology drill lint typecheck contracts bench-register bench-calls bench-media bench-storm bench-center bench-cost synth clean bench-migration bench-routing-cpu

setup: $(STAMP) node_modules/.installed system prompts

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# pip is held below 26.3 because chalice's packaging refuses newer pips.
$(STAMP): requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q 'pip<26.3'
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system:
	@bash scripts/setup-system.sh

# The default queue prompts and music (espeak-ng + sox), remade only when their words change.
PROMPTS := build/prompts
prompts: $(STAMP) system
	@$(PY) scripts/make_prompts.py $(PROMPTS)

run: setup
	$(PY) -m local_stack $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

contracts: $(STAMP)
	PYTHONPATH=infra $(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy -p contact_center -p sip_edge -p local_stack -p switchboard_infra -p media_relay
	$(VENV)/bin/mypy infra/app.py
	$(VENV)/bin/mypy functions/api/app.py
	$(VENV)/bin/mypy functions/routing/handler.py
	$(VENV)/bin/mypy functions/agent_events/handler.py
	$(VENV)/bin/mypy functions/webhooks/handler.py
	$(VENV)/bin/mypy tests/support/routing_fakes.py tests/support/routing_centre.py

test: setup lint contracts typecheck
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The production topology (network namespaces, iptables, conntrack; root): 100 calls per transport.
test-topology: setup
	TOPOLOGY_CALLS=100 $(VENV)/bin/pytest -p no:xdist -m topology -s tests/topology $(PYTEST_ARGS)

# The same topology by hand (root): stays up until Ctrl-C, then removes everything it made.
topology: setup
	$(PY) -m local_stack.topology up $(ARGS)

# Two regions under load; one is killed outright, comes back, and its merchants move home (a few
# minutes). `make test` runs the short version (tests/regions/test_drill.py).
drill: setup
	PYTHONPATH=infra $(PY) -m local_stack.regions.drill $(ARGS)

synth: setup
	$(PY) infra/app.py

bench-register: setup
	$(PY) bench/register_bench.py

bench-calls: setup
	$(PY) bench/call_bench.py

# The routing function's CPU per routed call, in process against DynamoDB Local (about 30 s).
bench-routing-cpu: setup
	$(PY) bench/routing_cpu_bench.py $(ARGS)

bench-media: setup
	$(PY) bench/media_bench.py --record

# Every seat registering at once onto one edge task (phones honour 503 Retry-After), Kamailio beside it.
bench-storm: setup
	$(PY) bench/register_bench.py --storm --no-calibration --memory-settle 0

# The contact-center day in miniature: the cold storm, routed calls at 28/s, their cost (about 6 min).
bench-center: setup
	$(PY) bench/center.py $(ARGS)

bench-cost: setup
	$(PY) bench/cost.py $(ARGS)

# The issue's migration wave: 1,000 calls (200 per step of 0 -> 10 -> 50 -> 100 -> 0 %); make test places 200.
bench-migration: setup
	MIGRATION_CALLS=1000 $(VENV)/bin/pytest -p no:xdist -q tests/integration/test_migration_live.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
