# Developer entry points; CI (.ci/run) calls `lint`, `test`, `test-floods`, `test-differential`,
# `bench-smoke`, `image-test` and `e2e`.
PYTHON ?= python
IMAGE ?= localhost/medusa-graphql-gateway:dev

.PHONY: lint format test test-floods test-differential e2e schema docs bench bench-smoke \
	graphiql-assets image image-test

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
	hadolint Dockerfile

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# The fast suite (no backend needed), with branch coverage of gateway/ and schema/.
test:
	$(PYTHON) -m pytest --cov --cov-report=term-missing:skip-covered --cov-fail-under=90

# Hundreds of slow, idle and aborting sockets against a real gateway process (~15 s).
test-floods:
	$(PYTHON) -m pytest -m floods tests/floods -p no:cacheprovider

# The compiled executor against graphql-core on 2,000 generated documents, variables and
# backend answers (tests/test_differential.py; `make test` runs a few dozen draws).
test-differential:
	DIFFERENTIAL_DRAWS=2000 $(PYTHON) -m pytest -p no:cacheprovider tests/test_differential.py

# Against a real Medusa 2.21 (installed and started by scripts/medusa/up.sh).
e2e:
	bash scripts/medusa/up.sh
	$(PYTHON) -m pytest -m e2e tests/e2e

# Regenerate the committed SDL after changing the schema.
schema:
	$(PYTHON) -m gateway export-schema > schema/schema.graphql

# Regenerate the settings and error tables in docs/ from the code (a test checks they are fresh).
docs:
	$(PYTHON) scripts/docs.py

# GraphiQL's pinned npm files into the user cache folder (~/.cache/medusa-graphql-gateway/
# graphiql), where the gateway finds them from any working directory: served offline.
graphiql-assets:
	$(PYTHON) -m gateway fetch-graphiql

# The benchmark (bench/README.md): the full run, side by side with the peer (~5 min).
bench:
	PYTHON=$(PYTHON) bash bench/run.sh

# The same harness in seconds, no thresholds (CI: it must not rot); the peer only if cached.
bench-smoke:
	SMOKE=1 PYTHON=$(PYTHON) bash bench/run.sh

# The container image from the Dockerfile: with docker if its daemon answers, else buildah.
image:
	IMAGE=$(IMAGE) bash scripts/image/build.sh

# CI's image check (docs/deployment.md): buildah builds the Dockerfile from a Debian stand-in
# for python:3.11-slim (no registry or daemon needed), then the image is run and probed.
image-test:
	IMAGE=localhost/medusa-graphql-gateway:ci bash scripts/image/build.sh --standin
	IMAGE=localhost/medusa-graphql-gateway:ci bash scripts/image/test.sh
