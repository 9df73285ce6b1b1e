"""The course's local services: a JSON API, a website to scrape, and a gauge.

They stand in for httpbin, a news site and a monitoring probe so that every
lesson runs offline against 127.0.0.1.  A notebook starts them in a child
process with ``await helpers.lab.start()``; an instructor can also run them in
a terminal with ``python -m helpers.services``.
"""

from helpers.services.api import MAX_DELAY, build_api_app
from helpers.services.gauge import Gauge
from helpers.services.site import build_site_app

__all__ = ["MAX_DELAY", "Gauge", "build_api_app", "build_site_app"]
