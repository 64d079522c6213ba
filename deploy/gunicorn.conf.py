"""Gunicorn settings for the panel in production (deploy/systemd/postbode-web.service).

Sync workers: every request is short, CPU-bound Django work against PostgreSQL (no long polling, no
websockets), and nginx in front (deploy/nginx/postbode-panel.conf) buffers slow clients and keeps their
connections alive itself, which is the case Gunicorn's sync worker is made for. Threads (gthread) would share
one interpreter lock per process, so they add no CPU, only overlap during the few milliseconds a page waits
on the database; extra processes give that overlap without the lock. The usual 2 x cores + 1 workers keep
both cores busy while some workers wait on the database; `POSTBODE_WEB_WORKERS` overrides it (and
`POSTBODE_WEB_WORKER_CLASS` / `POSTBODE_WEB_THREADS`, to measure the alternatives with bench/bench_serving.py).
Static files are served by WhiteNoise from STATIC_ROOT (compressed, cached), so the proxy only terminates TLS.
"""

import multiprocessing
import os

# Each worker keeps its database connection (Django's CONN_MAX_AGE, checked before reuse): a new
# PostgreSQL connection per request costs a new backend process with cold catalog caches every time.
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
