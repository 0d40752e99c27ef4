"""A real Label Studio server started by the tests: health, token, restart on the same data."""

from __future__ import annotations

import pytest

from pipeline.annotate.server import LabelStudioServer, ServerError, free_port

TOKEN = "curate-test-token-123"
CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
          '<Choice value="a"/><Choice value="b"/></Choices></View>')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = LabelStudioServer(tmp_path_factory.mktemp("ls") / "data", username="admin@curate.local",
                          password="curate-pass-1", token=TOKEN, port=free_port())
    with s:
        yield s


def test_server_is_healthy_and_takes_the_token(server):
    from label_studio_sdk import LabelStudio

    client = LabelStudio(base_url=server.url, api_key=TOKEN)
    project = client.projects.create(title="curate test", label_config=CONFIG)
    assert project.id in [p.id for p in client.projects.list()]


def test_a_wrong_token_is_refused(server):
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    with pytest.raises(ApiError) as err:
        LabelStudio(base_url=server.url, api_key="wrong-token-xyz").projects.create(title="nope", label_config=CONFIG)
    assert err.value.status_code == 401


def test_restart_keeps_data_and_token(server):
    from label_studio_sdk import LabelStudio

    before = [p.id for p in LabelStudio(base_url=server.url, api_key=TOKEN).projects.list()]
    assert server.stop() and not server.healthy()
    server.start()
    assert [p.id for p in LabelStudio(base_url=server.url, api_key=TOKEN).projects.list()] == before


def test_a_taken_port_is_a_clear_error(server, tmp_path):
    other = LabelStudioServer(tmp_path / "d", username="a@b.c", password="p" * 8, token="t" * 8, port=server.port)
    other.executable = server.executable
    assert other.healthy()  # the healthy server on that port is reused, not started twice
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = LabelStudioServer(tmp_path / "e", username="a@b.c", password="p" * 8, token="t" * 8,
                                 port=s.getsockname()[1])
        with pytest.raises(ServerError, match="taken"):
            busy.start()


def test_cli_up_status_down_with_generated_credentials(tmp_path):
    import json
    import subprocess
    import sys

    port, data = str(free_port()), str(tmp_path / "ls")
    cli = [sys.executable, "-m", "pipeline.cli", "labelstudio"]
    up = subprocess.run([*cli, "up", "--data-dir", data, "--port", port], capture_output=True, text=True)
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        creds = json.loads((tmp_path / "ls" / "credentials.json").read_text())
        assert (tmp_path / "ls" / "credentials.json").stat().st_mode & 0o077 == 0
        assert creds["token"] not in up.stdout + up.stderr and creds["password"] not in up.stdout + up.stderr
        # The port is remembered: later commands on this data directory need not repeat it.
        status = subprocess.run([*cli, "status", "--data-dir", data], capture_output=True, text=True)
        assert status.returncode == 0 and f"127.0.0.1:{port}: healthy" in status.stdout
        invite = subprocess.run([*cli, "invite", "--data-dir", data], capture_output=True, text=True)
        assert invite.returncode == 0 and f"http://127.0.0.1:{port}/user/signup/?token=" in invite.stdout
        assert creds["token"] not in invite.stdout
    finally:
        down = subprocess.run([*cli, "down", "--data-dir", data], capture_output=True, text=True)
    assert "stopped" in down.stdout
    assert subprocess.run([*cli, "status", "--data-dir", data, "--port", port]).returncode == 1


def test_annotate_commands_say_in_one_line_what_is_missing(tmp_path):
    """Nothing pushed from this run directory, or a server URL where nothing answers: one line, exit 2."""
    import os
    import subprocess
    import sys

    cli = [sys.executable, "-m", "pipeline.cli", "annotate"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURATE_LS_")}
    closed = {**env, "CURATE_LS_URL": f"http://127.0.0.1:{free_port()}", "CURATE_LS_TOKEN": "x" * 40}
    for command, environ, message in (("pull", closed, "nothing was pushed for review from"),
                                      ("sync", closed, "nothing was pushed for review from"),
                                      ("push", closed, "does not answer as expected")):
        res = subprocess.run([*cli, command, "--out", str(tmp_path / "run")], capture_output=True, text=True,
                             env=environ)
        assert res.returncode == 2, (command, res.stdout, res.stderr[-2000:])
        lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("No --config")]
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.stderr, res.stderr
        assert "x" * 40 not in res.stderr + res.stdout  # the token is never printed


def test_invite_link_lets_an_annotator_make_their_own_account(label_studio_server):
    """Sign-up without a link is refused on our server; with the link from `invite`, a new annotator
    signs up through the real form and then exists as a user; a renewed link retires the old one."""
    import re

    import httpx

    from pipeline.annotate.client import SdkClient

    client = SdkClient(label_studio_server.url, label_studio_server.token)
    link = client.invite_link()
    assert link.startswith(f"{label_studio_server.url}/user/signup/?token=")

    def sign_up(url: str, email: str) -> httpx.Response:
        with httpx.Client(follow_redirects=False, timeout=30) as web:
            page = web.get(url)
            if page.status_code != 200:
                return page
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            return web.post(url, data={"csrfmiddlewaretoken": csrf, "email": email, "password": "annotate-me-1",
                                       "how_find_us": "Other"}, headers={"Referer": url})

    sign_up(f"{label_studio_server.url}/user/signup/", "nolink@curate.local")
    assert "nolink@curate.local" not in client.users().values()
    done = sign_up(link, "annotator3@curate.local")
    assert done.status_code == 302, done.text[-500:]
    assert "annotator3@curate.local" in client.users().values()
    renewed = client.invite_link(renew=True)
    assert renewed != link
    sign_up(link, "annotator4@curate.local")  # the retired link
    assert "annotator4@curate.local" not in client.users().values()
