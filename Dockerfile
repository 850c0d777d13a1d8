# syntax=docker/dockerfile:1
# offsets-gateway: multi-stage build. `assets` fetches GraphiQL's browser files (so GraphiQL works without
# internet), `builder` builds the wheel, `runtime` is a slim, non-root image that runs `offsets-gateway serve`.
#
#   docker build -t offsets-gateway .
#   docker run -p 8000:8000 offsets-gateway                       # embedded sandbox, no real credits
#   docker run -p 8000:8000 -e GATEWAY_UPSTREAM_URL=https://api.cnaught.com/v1 \
#              -e GATEWAY_UPSTREAM_API_KEY=... offsets-gateway      # the real API

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/vendor-graphiql scripts/
RUN bash scripts/vendor-graphiql

FROM python:3.11-slim-bookworm AS builder
WORKDIR /src
RUN pip install --no-cache-dir --disable-pip-version-check build
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY sandbox sandbox
COPY --from=assets /src/gateway/static/graphiql gateway/static/graphiql
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_LOG_LEVEL=info
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/gateway --shell /usr/sbin/nologin gateway
COPY --from=builder /dist/*.whl /tmp/
RUN pip install --no-cache-dir --disable-pip-version-check /tmp/*.whl && rm /tmp/*.whl
USER gateway
WORKDIR /home/gateway
EXPOSE 8000
# Liveness only (no upstream call): python's urllib, so the image needs no curl.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# The same `serve` a developer runs; 0.0.0.0 because the container's network namespace is the boundary.
CMD ["offsets-gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
