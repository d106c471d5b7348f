"""gunicorn's settings for the web service (gunicorn reads ``./gunicorn.conf.py`` on its own).

    gunicorn flywheel.wsgi                      # the Dockerfile's command; flags override these

- Sync workers, ``2 x cores + 1`` of them (``WEB_CONCURRENCY``): a slow request (a cold agreement
  dashboard computes for seconds) holds one process and no other request, where a threaded worker
  would make its other requests wait on the interpreter lock. A sync worker answers one request at
  a time, so put a buffering proxy (nginx) in front for slow clients, as gunicorn's docs advise.
- ``preload_app``: the master imports Django and every view once before it forks (``flywheel/wsgi.py``
  loads the URLconf and the modules the pages use), so a new worker answers its first request at
  once instead of importing for seconds, and the workers share those pages of memory.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * multiprocessing.cpu_count() + 1)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 10
# For threaded workers only (sync workers close each connection): longer than a client's think
# time, as a proxy's (nginx: 75 s), so a kept-alive connection is not closed under the client.
keepalive = 75
