# syntax=docker/dockerfile:1
# Assets stage: GraphiQL's npm files, downloaded and checked against their pinned hashes by a
# stdlib-only module, so GraphiQL works offline and under its strict CSP (never committed).
FROM python:3.11-slim AS graphiql
WORKDIR /src
COPY gateway/__init__.py gateway/graphiql_pins.py ./gateway/
COPY gateway/tools ./gateway/tools
RUN python -m gateway.tools.graphiql_assets /graphiql

# Build stage: install the gateway (the README's `pip install .`) into a self-contained venv.
FROM python:3.11-slim AS build
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

# Runtime stage: only the venv, run as an unprivileged user.
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin gateway
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# The README's start command.
CMD ["python", "-m", "gateway"]
