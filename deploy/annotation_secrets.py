"""Where the annotation flows find Label Studio's URL and API token in production.

The URL is configuration (`CURATE_LS_URL`). The token is a credential: on a developer's machine
an environment variable is fine (`CURATE_LS_TOKEN`), but a deployment run by a worker should not
carry it in its environment, parameters or logs, so it can live in a Prefect Secret block instead
(obfuscated in the UI, read only by processes that can reach the Prefect API). The environment
wins when both exist, so a developer can point one run at another server without touching the
block. The token is never logged, printed or put in an error message.

Operators store the token once:

    python -c "from deploy.annotation_secrets import save_token_block; save_token_block(input('token: '))"
"""

from __future__ import annotations

import os

URL_ENV = "CURATE_LS_URL"
TOKEN_ENV = "CURATE_LS_TOKEN"
BLOCK_ENV = "CURATE_LS_TOKEN_BLOCK"
DEFAULT_BLOCK = "label-studio-token"


class CredentialsError(RuntimeError):
    """Label Studio's URL or token is configured nowhere; the message says what to set."""


def token_block_name() -> str:
    return os.environ.get(BLOCK_ENV) or DEFAULT_BLOCK


def _token_from_block(name: str) -> str | None:
    """The Secret block's value, or None when no block has that name."""
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name).get()
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return None
    # A Secret may hold JSON; a token is a string, and anything else is a misconfigured block.
    if not isinstance(value, str) or not value.strip():
        raise CredentialsError(f"the Prefect Secret block {name!r} does not hold a token string: "
                               "store one with deploy.annotation_secrets.save_token_block")
    return value.strip()


def label_studio_credentials() -> tuple[str, str]:
    """(url, token) of the Label Studio server the annotation flows talk to."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        raise CredentialsError(f"set {URL_ENV} to the Label Studio server's address "
                               "(e.g. http://127.0.0.1:8080 or the reverse proxy's https URL)")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return url.rstrip("/"), token
    name = token_block_name()
    token = _token_from_block(name) or ""
    if not token:
        raise CredentialsError(
            f"no Label Studio API token: set {TOKEN_ENV}, or store the token in a Prefect Secret block "
            f"named {name!r} (save_token_block in deploy/annotation_secrets.py), or name an existing "
            f"block with {BLOCK_ENV}")
    return url.rstrip("/"), token


def save_token_block(token: str, name: str | None = None, overwrite: bool = True) -> str:
    """Store `token` in a Prefect Secret block (default: $CURATE_LS_TOKEN_BLOCK or label-studio-token);
    returns the block's name. Needs PREFECT_API_URL to point at the server the workers use."""
    from prefect.blocks.system import Secret

    token = token.strip()
    if not token:
        raise ValueError("the token is empty: copy it from Label Studio's Account & Settings page")
    name = name or token_block_name()
    Secret(value=token).save(name, overwrite=overwrite)
    return name
