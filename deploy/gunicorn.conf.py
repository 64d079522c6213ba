"""Gunicorn settings for the panel in production (deploy/systemd/postbode-web.service).

Sync workers: every request is short Django work against PostgreSQL (no long polling, no websockets), so
an ASGI server would add nothing but an event loop. The usual 2 x cores + 1 workers keep both cores busy
while some workers wait on the database; `POSTBODE_WEB_WORKERS` overrides it. Static files are served by
WhiteNoise from STATIC_ROOT (compressed, cached), so the reverse proxy in front only terminates TLS.
"""

import multiprocessing
import os

# Each worker keeps its database connection (Django's CONN_MAX_AGE, checked before reuse): a new
# PostgreSQL connection per request costs a backend process and cold catalog caches, more CPU than the page.
os.environ.setdefault("DB_CONN_MAX_AGE", "600")

bind = os.environ.get("POSTBODE_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("POSTBODE_WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("POSTBODE_WEB_WORKER_CLASS", "sync")
threads = int(os.environ.get("POSTBODE_WEB_THREADS", 1))  # gthread only
timeout = 30
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter, so not all at once): memory stays flat.
max_requests = 2000
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("POSTBODE_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
