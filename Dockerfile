# tsunagari: build the virtualenv in one stage, run it as a non-root user in a slim one.
#   docker build -t tsunagari .
#   docker run -p 8080:8080 -e TSUNAGARI_SECRET_KEY=... tsunagari
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1
RUN python -m pip install "uv>=0.13,<0.14" \
 && python -m venv /opt/venv
WORKDIR /src
# Dependencies first, in their own layer: the runtime ones only (the lock also holds the test
# tools), at exactly the lock's versions.
COPY pyproject.toml requirements.lock README.md ./
RUN uv pip install --python /opt/venv/bin/python -r pyproject.toml --constraint requirements.lock
COPY bot ./bot
COPY routing ./routing
COPY resources ./resources
COPY admin ./admin
RUN uv pip install --python /opt/venv/bin/python --no-deps .

# ---------------------------------------------------------------- run
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 tsunagari \
 && useradd --system --uid 10001 --gid tsunagari --home-dir /app --shell /usr/sbin/nologin tsunagari \
 && mkdir -p /app/var \
 && chown -R tsunagari:tsunagari /app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The defaults keep working in a container: SQLite and the generated secret live in /app/var.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TSUNAGARI_HOST=0.0.0.0 \
    TSUNAGARI_PORT=8080
USER 10001:10001
VOLUME ["/app/var"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["tsunagari", "serve"]
