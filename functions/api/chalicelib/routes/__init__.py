"""The app's routes beyond the onboarding core, one module per area (``app.py`` registers them).

Not Chalice blueprints: a blueprint's routes can be registered with one app only (Chalice pops the
methods out of the options it keeps, so a second app gets them as GET), and the tests load the app
several times, as Lambda runs several environments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Chalice

View = Callable[..., Any]


class Routes:
    """Routes declared beside their views, added to an app by ``register``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, View, list[str] | None]] = []

    def route(
        self, path: str, methods: list[str], content_types: list[str] | None = None
    ) -> Callable[[View], View]:
        def add(view: View) -> View:
            self._routes.extend((path, method, view, content_types) for method in methods)
            return view

        return add

    def register(self, app: Chalice) -> None:
        for path, method, view, content_types in self._routes:
            if content_types is None:
                app.route(path, methods=[method])(view)
            else:
                app.route(path, methods=[method], content_types=content_types)(view)
