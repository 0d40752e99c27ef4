"""Fixtures for the annotation tests: the training tests' tiny random Llama, shared rather than copied."""

from __future__ import annotations

import os

# Passive OpenMP waiting on 2 shared cores (see tests/train/conftest.py); before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import threading  # noqa: E402

import pytest  # noqa: E402

from tests.train.conftest import smol_tokenizer, tiny_llama_dir  # noqa: E402  (fixtures, used by name)

__all__ = ["smol_tokenizer", "tiny_llama_dir"]


@pytest.fixture(scope="session")
def label_studio_boot(tmp_path_factory):
    """One fresh Label Studio server for the annotation tests, starting on a background thread: its
    ~45-55 s start overlaps other set-up (the Prefect harness) when a test asks for this first."""
    from pipeline.annotate.server import free_port, local_server

    server = local_server(tmp_path_factory.mktemp("ls"), port=free_port())
    server.webhooks_to_loopback = True  # SSRF protection refuses 127.0.0.1 receivers otherwise
    errors: list[BaseException] = []

    def boot() -> None:
        try:
            server.start()
        except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for the server
            errors.append(exc)

    thread = threading.Thread(target=boot, name="label-studio-boot", daemon=True)
    thread.start()
    try:
        yield server, thread, errors
    finally:
        server.stop()  # also ends a start still in progress: its pid file exists from the first second
        thread.join(60)


@pytest.fixture(scope="session")
def label_studio_server(label_studio_boot):
    """The shared server, once healthy. Tests that stop it to inject a fault restart it themselves."""
    server, thread, errors = label_studio_boot
    thread.join()
    if errors:
        raise errors[0]
    if not server.healthy():
        server.start()
    return server
