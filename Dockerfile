# syntax=docker/dockerfile:1
# The base is a build argument so a machine that cannot pull it can pass a stand-in
# (scripts/image/build.sh --standin); users build this file unchanged.
ARG PYTHON_IMAGE=python:3.11-slim

# Assets stage: GraphiQL's npm files, downloaded and checked against their pinned hashes by a
# stdlib-only module, so GraphiQL works offline and under its strict CSP (never committed).
FROM ${PYTHON_IMAGE} AS graphiql
WORKDIR /src
COPY gateway/__init__.py gateway/graphiql_pins.py ./gateway/
COPY gateway/tools ./gateway/tools
RUN python -m gateway.tools.graphiql_assets /graphiql

# Build stage: install the gateway (the README's `pip install .`) into a self-contained venv.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY --from=graphiql /graphiql ./gateway/static/graphiql
COPY schema ./schema
COPY medusa_client ./medusa_client
COPY sandbox ./sandbox
RUN pip install .

# Runtime stage: only the venv, run as an unprivileged user. Production by default: a deploy
# that forgets GATEWAY_ENV must not serve GraphiQL, introspection or the demo sandbox.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin gateway
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
# Asks the running server's /healthz on the port it listens on (GATEWAY_PORT, as overridden at
# `docker run -e`); stdlib only, so a probe every 10 s costs a few milliseconds.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-m", "gateway.healthcheck"]
# The README's start command.
CMD ["python", "-m", "gateway"]
