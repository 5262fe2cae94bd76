# incident-app as a container: one stateless web process on port 3000.
# Untested: the machine this was written on has no Docker engine.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000

# Install the project (not editable); the sources are not kept in the image.
WORKDIR /src
COPY pyproject.toml README.md app.yml ./
COPY app ./app
COPY config ./config
RUN pip install . && rm -rf /src

# A non-root user. Its working directory is where settings are read from `.env` and where
# setup mode saves the App's credentials: mount a volume there to keep them.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin incident \
    && mkdir /data && chown incident:incident /data
WORKDIR /data
USER incident

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

CMD ["incident-app", "serve"]
