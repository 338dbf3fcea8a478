# The liftwatch image: the `liftwatch` command and its dependencies, nothing else. Every liftwatch
# service of docker-compose.yml (migrate, api, ingest workers, scorer) runs it with its own command.

FROM python:3.12.8-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12.8-slim-bookworm
# An unprivileged user whose home is the data directory (learned models, reports).
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/liftwatch liftwatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER liftwatch
WORKDIR /var/lib/liftwatch
ENV PYTHONUNBUFFERED=1 \
    LIFTWATCH_DATA_DIR=/var/lib/liftwatch \
    LIFTWATCH_LOG_FORMAT=json
ENTRYPOINT ["liftwatch"]
CMD ["--help"]
