"""Shared fixtures. Heavy ones (a Prefect server) start only for the tests that ask for them."""

from __future__ import annotations

import os
import tempfile

import pytest

# Verified on this machine (/work/shared/SERVICES.md): the 20 s default start-up timeout is too
# short on 2 cores, and analytics would try to reach the internet.
PREFECT_TEST_ENV = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API server (own SQLite database, own PREFECT_HOME) for the session.

    Start-up takes 17-30 s here, so it is session-scoped and used only by tests that request it.
    """
    from prefect.settings import (
        PREFECT_HOME,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        env = {**PREFECT_TEST_ENV, "PREFECT_HOME": home}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # for subprocesses (the test server, spawned stage workers)
        try:
            # Prefect read its settings when first imported; override them in-process too.
            with temporary_settings(updates={PREFECT_HOME: home, PREFECT_SERVER_ANALYTICS_ENABLED: False,
                                             PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 120}):
                with prefect_test_harness(server_startup_timeout=120):
                    yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
