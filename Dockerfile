# esscard-bot in a container. Build: `docker build -t esscard-bot .`; run: docs/operations.md,
# "Deploy". The image needs neither tests/ nor benchmarks/ (see .dockerignore).
# Long polling by default; for a webhook behind a TLS proxy see deploy/compose.webhook.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_KNOWLEDGE_DIR=/app/knowledge \
    BOT_DATABASE=/app/data/esscard.sqlite3

# The package and its runtime dependencies only (no tests, no development tools).
COPY pyproject.toml README.md LICENSE /src/
COPY bot /src/bot
RUN pip install /src && rm -rf /src

# An unprivileged user (uid 1000, like the first user of most hosts, so that bind-mounted
# folders of a checkout are writable); the knowledge base and the database are volumes.
RUN useradd --uid 1000 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin esscard \
    && mkdir -p /app/data \
    && chown esscard:esscard /app/data
COPY --chown=esscard:esscard knowledge /app/knowledge
WORKDIR /app
USER esscard
VOLUME ["/app/knowledge", "/app/data"]
# BOT_WEBHOOK_PORT, used only with BOT_WEBHOOK_URL.
EXPOSE 8443

ENTRYPOINT ["esscard-bot"]
CMD ["run"]
