"""Label Studio credentials from the environment or a real Prefect Secret block; the compose file's shape."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml

from deploy.annotation_secrets import (
    BLOCK_ENV,
    DEFAULT_BLOCK,
    TOKEN_ENV,
    URL_ENV,
    CredentialsError,
    label_studio_credentials,
    save_token_block,
)

LS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "labelstudio"
TOKEN = "tok-0123456789abcdef-not-real"


@pytest.fixture
def clean_env(monkeypatch):
    for name in (URL_ENV, TOKEN_ENV, BLOCK_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_environment_gives_url_and_token(clean_env):
    clean_env.setenv(URL_ENV, "http://127.0.0.1:8080/")
    clean_env.setenv(TOKEN_ENV, f" {TOKEN}\n")
    assert label_studio_credentials() == ("http://127.0.0.1:8080", TOKEN)


def test_a_missing_url_is_named_and_the_token_is_not_shown(clean_env, caplog):
    clean_env.setenv(TOKEN_ENV, TOKEN)
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialsError, match=URL_ENV) as err:
        label_studio_credentials()
    assert TOKEN not in str(err.value) and TOKEN not in caplog.text


@pytest.mark.prefect
def test_the_token_comes_from_a_secret_block(prefect_harness, clean_env):
    assert save_token_block(f"{TOKEN}-block", "curate-test-ls-token") == "curate-test-ls-token"
    clean_env.setenv(URL_ENV, "https://label.example.org")
    clean_env.setenv(BLOCK_ENV, "curate-test-ls-token")
    assert label_studio_credentials() == ("https://label.example.org", f"{TOKEN}-block")
    clean_env.setenv(TOKEN_ENV, TOKEN)  # the environment wins: one run can point elsewhere
    assert label_studio_credentials()[1] == TOKEN
    save_token_block(f"{TOKEN}-rotated", "curate-test-ls-token")  # overwrite: a rotated token
    clean_env.delenv(TOKEN_ENV)
    assert label_studio_credentials()[1] == f"{TOKEN}-rotated"


@pytest.mark.prefect
def test_neither_env_nor_block_is_a_clear_error(prefect_harness, clean_env, caplog):
    save_token_block(f"{TOKEN}-other", "some-other-block")  # exists, but is not the one asked for
    clean_env.setenv(URL_ENV, "http://127.0.0.1:8080")
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialsError) as err:
        label_studio_credentials()
    msg = str(err.value)
    assert TOKEN_ENV in msg and BLOCK_ENV in msg and repr(DEFAULT_BLOCK) in msg
    assert TOKEN not in msg and TOKEN not in caplog.text
    clean_env.setenv(BLOCK_ENV, "no-such-block")
    with pytest.raises(CredentialsError, match="'no-such-block'"):
        label_studio_credentials()
    with pytest.raises(ValueError, match="empty"):
        save_token_block("  ", "no-such-block")


def test_compose_has_postgres_volumes_and_loopback_binding():
    compose = yaml.safe_load((LS_DIR / "docker-compose.yml").read_text())
    db, app = compose["services"]["db"], compose["services"]["app"]
    assert db["image"].startswith("postgres:") and app["image"] == "heartexlabs/label-studio:1.23.2"
    assert app["environment"]["DJANGO_DB"] == "default" and app["environment"]["POSTGRE_HOST"] == "db"
    assert app["environment"]["LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"] == "true"
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert set(compose["volumes"]) == {"labelstudio-data", "postgres-data"}
    assert "labelstudio-data:/label-studio/data" in app["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in db["volumes"]
    assert [p.split(":")[0] for p in app["ports"]] == ["${LS_BIND"] and "127.0.0.1" in app["ports"][0]
    assert "ports" not in db  # the database is reachable from the app container only
    assert "/health" in " ".join(app["healthcheck"]["test"])


def test_env_example_names_every_variable_and_holds_no_secret():
    text = (LS_DIR / "docker-compose.yml").read_text()
    example = (LS_DIR / "env.example").read_text()
    defined = dict(re.findall(r"^#?\s*([A-Z_]+)=(.*)$", example, flags=re.M))
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert used <= set(defined), used - set(defined)
    for name in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_HOST", "CSRF_TRUSTED_ORIGINS"):
        assert name in defined
    for name in ("POSTGRES_PASSWORD", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):  # the secrets
        assert defined[name].startswith("change-me"), f"{name} must be a placeholder"
    for service in yaml.safe_load(text)["services"].values():  # the compose file only interpolates secrets
        for name, value in service.get("environment", {}).items():
            assert "PASSWORD" not in name or str(value).startswith("${"), name
