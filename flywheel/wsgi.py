"""The WSGI application. Importing it also loads every view (and what the pages compute with), so
a server that preloads it (gunicorn.conf.py) forks workers that are ready for their first request."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports the URLconf and so every view module, now
# The dashboard's Fleiss' kappa (statsmodels, ~1 s to import, lazy for the commands): not on a first look.
import statsmodels.stats.inter_rater  # noqa: E402, F401
