"""Facts from the client's own API: the login, the application settings, the request counter."""

from __future__ import annotations

import os

from ..errors import FactUnavailable
from ..transport.api import ApiClient
from .cached import fact
from .traffic import CounterReading, rate_since, read_counter


class ApiFacts:
    @fact
    def api(self) -> ApiClient:
        """Logged in once per audit (a ready token, or Basic credentials from the environment)."""
        settings = self.profile.api
        if not settings.url:
            raise FactUnavailable("no api.url in the profile", "api")
        if self.remote:
            self.ssh    # an unreachable host costs one connect timeout, not one per service
        client = ApiClient(settings.url, settings.verify_tls)
        token = os.environ.get(settings.token_env) if settings.token_env else None
        if token:
            client.use_token(token)
            return client
        user = os.environ.get(settings.username_env) if settings.username_env else None
        password = os.environ.get(settings.password_env) if settings.password_env else None
        if not (user and password):
            names = " and ".join(n for n in (settings.username_env, settings.password_env) if n) or "api.username_env/api.password_env"
            raise FactUnavailable(f"no API credentials: set {names} in the environment", "api")
        client.login_basic(user, password)
        return client

    @fact(after="api")
    def application_settings(self) -> dict:
        """GET /v1/settings/application: its `application` object."""
        body = self.api.get_json("/v1/settings/application")
        try:
            return dict(body["settings"]["application"])
        except (KeyError, TypeError, ValueError):
            raise FactUnavailable("GET /v1/settings/application answered without settings.application", "api") from None

    @fact(after="api")
    def first_counter_reading(self) -> CounterReading:
        """The API's request counter as early as possible: the audit's own work is the wait."""
        if self.profile.traffic.peak_rps is not None:
            raise FactUnavailable("traffic.peak_rps is declared: the request counter is not read", "api")
        return read_counter(self.api)

    @fact
    def metrics_rps(self) -> float:
        """Current request rate from the API's own counter, between two readings at least
        MIN_WINDOW_SECONDS apart."""
        return rate_since(self.api, self.first_counter_reading)
