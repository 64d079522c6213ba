from tenants import framestack

from .celery import app as celery_app

# Every process of the panel (the web server, Celery, manage.py, the tests) keeps Python's freed frame-stack
# chunks for reuse where `./dev` built the cache: tenants/framestack.py.
framestack.install()

__all__ = ["celery_app"]
