# syntax=docker/dockerfile:1
# offsets-gateway: multi-stage, reproducible build. `assets` fetches GraphiQL's browser files (pinned by
# package-lock.json), `builder` installs the Python dependencies from the hashed lock (requirements.lock,
# `pip install --require-hashes`) into a venv and adds the project's wheel, `runtime` is that venv on the
# same base, run by a non-root user.
#
# Base images are build arguments, so a mirror or an internal registry can supply them:
#   docker build -t offsets-gateway .                                    # the public defaults below
#   docker build --build-arg PYTHON_BASE=registry.internal/python:3.11-slim-bookworm \
#                --build-arg NODE_BASE=registry.internal/node:20-bookworm-slim -t offsets-gateway .
# PYTHON_BASE needs `python3` with the venv module (Debian: python3 + python3-venv); NODE_BASE needs bash and
# npm. scripts/build-image builds both from Debian packages (debootstrap) where no registry is reachable.
#
#   docker run -p 8000:8000 offsets-gateway                       # embedded sandbox, no real credits
#   docker run -p 8000:8000 -e GATEWAY_UPSTREAM_URL=https://api.cnaught.com/v1 \
#              -e GATEWAY_UPSTREAM_API_KEY=... -e GATEWAY_CLIENTS_FILE=... offsets-gateway   # the real API

ARG PYTHON_BASE=python:3.11-slim-bookworm
ARG NODE_BASE=node:20-bookworm-slim

FROM ${NODE_BASE} AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/vendor-graphiql scripts/
RUN bash scripts/vendor-graphiql

FROM ${PYTHON_BASE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Exact versions and hashes: two builds from one commit install the same bytes (or fail).
COPY requirements.lock requirements-build.lock ./
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --require-hashes -r requirements-build.lock \
 && python3 -m venv /opt/gateway && /opt/gateway/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY sandbox sandbox
COPY --from=assets /src/gateway/static/graphiql gateway/static/graphiql
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /dist . \
 && /opt/gateway/bin/pip install --no-deps --no-index /dist/*.whl

FROM ${PYTHON_BASE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/gateway/bin:$PATH \
    GATEWAY_LOG_LEVEL=info
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/gateway --shell /usr/sbin/nologin gateway
COPY --from=builder /opt/gateway /opt/gateway
USER 10001:10001
WORKDIR /home/gateway
EXPOSE 8000
# Liveness only (no upstream call): python's urllib, so the image needs no curl.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# The same `serve` a developer runs; 0.0.0.0 because the container's network namespace is the boundary.
CMD ["offsets-gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
