"""`curate labelstudio ...` (a local server) and `curate annotate ...` (push, pull, status, sync).

Credentials: $CURATE_LS_URL and $CURATE_LS_TOKEN when set (a production server); otherwise the
local server of the run directory (`<run.out_dir>/labelstudio`, started with
`curate labelstudio up --out <run dir>`), whose generated credentials live in its data directory. A token is never printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

labelstudio_app = typer.Typer(no_args_is_help=True, help="A local Label Studio server (own venv, SQLite, 127.0.0.1).")
annotate_app = typer.Typer(no_args_is_help=True, help="Human review in Label Studio: push, pull, status, sync.")
RUN_DIR = Path("runs/demo")  # the demo's run directory; the server's data lives inside it


def _ls_dir(data_dir: Optional[Path], run_dir: Path) -> Path:
    return data_dir if data_dir is not None else run_dir / "labelstudio"


def _consoles() -> tuple[Any, Any]:
    from pipeline.cli_common import console, out

    return console, out


@labelstudio_app.command("up")
def labelstudio_up(
    data_dir: Optional[Path] = typer.Option(None, help="the server's data (SQLite, uploads, credentials); "
                                            "default: <run dir>/labelstudio"),
    run_dir: Path = typer.Option(RUN_DIR, "--out", help="the run directory (run.out_dir) the server serves"),
    port: Optional[int] = typer.Option(None, help="default: the port this data directory's server was last "
                                       "started on, else 8080; remembered for the other commands"),
) -> None:
    """Start the server (or find it running) and wait until it is healthy."""
    from pipeline.annotate.server import CREDENTIALS, ServerError, local_server, remember_port

    console, out = _consoles()
    data_dir = _ls_dir(data_dir, run_dir)
    server = local_server(data_dir, port)
    try:
        with console.status(f"starting Label Studio on {server.url}") as status:
            server.start(waiting=lambda s: status.update(
                f"starting Label Studio on {server.url}: {s:.0f} s (a first start sets up its database: "
                "about a minute)"))
    except ServerError as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    remember_port(data_dir, server.port)
    out.print(f"Label Studio is up at {server.url}; credentials (user, password, API token) in "
              f"{Path(data_dir).resolve() / CREDENTIALS}")


@labelstudio_app.command("down")
def labelstudio_down(data_dir: Optional[Path] = typer.Option(None), run_dir: Path = typer.Option(RUN_DIR, "--out"),
                     port: Optional[int] = typer.Option(None, help="default: the remembered one")) -> None:
    """Stop the server of this data directory."""
    from pipeline.annotate.server import local_server

    server = local_server(_ls_dir(data_dir, run_dir), port)
    _consoles()[1].print("stopped" if server.stop() else "no server was running")


@labelstudio_app.command("status")
def labelstudio_status(data_dir: Optional[Path] = typer.Option(None), run_dir: Path = typer.Option(RUN_DIR, "--out"),
                       port: Optional[int] = typer.Option(None, help="default: the remembered one")) -> None:
    """Whether the server answers its health check."""
    from pipeline.annotate.server import local_server

    server = local_server(_ls_dir(data_dir, run_dir), port)
    healthy = server.healthy()
    _consoles()[1].print(f"{server.url}: {'healthy' if healthy else 'not running'}")
    raise typer.Exit(0 if healthy else 1)


@labelstudio_app.command("invite")
def labelstudio_invite(data_dir: Optional[Path] = typer.Option(None), run_dir: Path = typer.Option(RUN_DIR, "--out"),
                       port: Optional[int] = typer.Option(None, help="default: the remembered one"),
                       renew: bool = typer.Option(False, help="revoke the old link and make a new one")) -> None:
    """The sign-up link to send to each annotator: one account per person, so agreement is measured."""
    link = _fail_on_server_errors(lambda: _client(_ls_dir(data_dir, run_dir), port, run_dir).invite_link(renew), 2)
    _consoles()[1].print(f"Send each annotator this link; each signs up with their own e-mail and password "
                         f"(the admin account is for setup only):\n{link}")


def _client(ls_dir: Path, port: Optional[int], run_dir: Any) -> Any:
    """A client of $CURATE_LS_URL, or of the local server whose data is in `ls_dir`, that answers;
    one line and exit 2 when none does."""
    from pipeline.annotate.client import AnnotationServerError, SdkClient
    from pipeline.annotate.server import local_server

    url, token = os.environ.get("CURATE_LS_URL"), os.environ.get("CURATE_LS_TOKEN")
    if not (url and token):
        server = local_server(ls_dir, port)
        if not server.healthy():
            _fail(f"no Label Studio at {server.url}: run `curate labelstudio up --out {run_dir}` or set "
                  "CURATE_LS_URL and CURATE_LS_TOKEN")
        url, token = server.url, server.token
    client = SdkClient(url, token)
    try:
        client.check()
    except AnnotationServerError as exc:  # a closed port, a wrong token: the message never holds the token
        _fail(f"Label Studio at {url} does not answer as expected ({exc}): check CURATE_LS_URL, CURATE_LS_TOKEN "
              "and that the server is up")
    return client


def _fail(message: str) -> None:
    _consoles()[0].print(Text(message, style="red"))
    raise typer.Exit(2)


def _pushed_here(cfg: Any) -> None:
    """Pulling needs something pushed from this run directory: say so instead of an empty table."""
    from pipeline.annotate.store import existing_stores

    if not any(st.state().get("project_id") for st in existing_stores(cfg.run.out_dir, cfg.annotate).values()):
        _fail(f"nothing was pushed for review from {cfg.run.out_dir}: run `curate annotate push` first "
              "(with the same --config/--out)")


def _cfg(config: Optional[Path], out_dir: Optional[Path]) -> Any:
    from pipeline.cli_common import load_run_config

    cfg = load_run_config(config, out_dir)
    cfg.annotate.enabled = True
    return cfg


def _fail_on_server_errors(fn: Any, code: int = 1) -> Any:
    from pipeline.annotate.client import AnnotationServerError
    from pipeline.tracking import TrackingError

    try:
        return fn()
    except AnnotationServerError as exc:  # AuthError included: the message never holds the token
        _consoles()[0].print(Text(str(exc), style="red"))
        raise typer.Exit(code) from None
    except TrackingError as exc:  # a tracking server out of reach: the user's to fix
        _consoles()[0].print(Text(f"error: {exc}", style="red"), soft_wrap=True)
        raise typer.Exit(2) from None


CONFIG = typer.Option(None, "--config", "-c", help="pipeline YAML; without it, the demo")
OUT = typer.Option(None, "--out", help="override run.out_dir")
LS = typer.Option(None, "--ls-dir", help="the local server's data directory when CURATE_LS_URL is unset; "
                  "default: <run dir>/labelstudio")
PORT = typer.Option(None, "--port", help="the local server's port; default: the one `curate labelstudio up` "
                    "last used for this run directory, else 8080")


@annotate_app.command("push")
def annotate_push(config: Optional[Path] = CONFIG, out_dir: Optional[Path] = OUT, ls_dir: Optional[Path] = LS,
                  port: Optional[int] = PORT) -> None:
    """Select the records that most need a human and push them (once each) with pre-annotations."""
    from pipeline.workflows.review import push_for_review

    cfg = _cfg(config, out_dir)
    client = _client(_ls_dir(ls_dir, Path(cfg.run.out_dir)), port, cfg.run.out_dir)
    result = _fail_on_server_errors(lambda: push_for_review(cfg, client))
    table = Table("kind", "project", "selected", "imported", "already there", "rejected", "requests", "s")
    for kind, m in result.items():
        c = m["counts"]
        table.add_row(kind, str(m["project"]["id"]), str(c["selected"]), str(c["imported"]),
                      str(c["already_present"]), str(c["rejected"]), str(m["requests"]), f"{m['wall_s']:.1f}")
    _consoles()[1].print(table)


@annotate_app.command("pull")
def annotate_pull(config: Optional[Path] = CONFIG, out_dir: Optional[Path] = OUT, ls_dir: Optional[Path] = LS,
                  port: Optional[int] = PORT) -> None:
    """Store what changed since the last pull (new, updated and deleted annotations)."""
    cfg = _cfg(config, out_dir)
    _pushed_here(cfg)
    _pull_and_summarise(cfg, _client(_ls_dir(ls_dir, Path(cfg.run.out_dir)), port, cfg.run.out_dir))


def _pull_and_summarise(cfg: Any, client: Any) -> dict[str, Any]:
    """Pull with a progress line, then say what changed: versions per annotator, skips, and how
    the decisions moved (accepted, unclear, pending before -> after)."""
    from pipeline.annotate.status import annotation_status
    from pipeline.annotate.sync import pull_all

    console, out = _consoles()
    before = annotation_status(cfg.run.out_dir, cfg.annotate)["kinds"]
    with console.status("pulling annotations") as status:
        result = _fail_on_server_errors(lambda: pull_all(
            client, cfg.annotate, cfg.run.out_dir,
            on_page=lambda kind, pages, tasks: status.update(f"pulling {kind}: {pages} page(s), {tasks} task(s)")))
    after = annotation_status(cfg.run.out_dir, cfg.annotate)["kinds"]
    table = Table("kind", "pages", "tasks seen", "new", "updated", "deleted", "skips", "requests", "s")
    for kind, s in result.items():
        table.add_row(kind, *(str(s[k]) for k in ("pages", "tasks_seen", "new", "updated", "deleted", "skips",
                                                  "requests")), f"{s['wall_s']:.1f}")
    out.print(table)
    for kind, s in result.items():
        who = ", ".join(f"{name} {n}" for name, n in s["by_annotator"].items()) or "nobody"
        moved = ", ".join(f"{k} {before.get(kind, {}).get('decisions', {}).get(k, 0)} -> "
                          f"{after[kind]['decisions'].get(k, 0)}" for k in ("accepted", "unclear", "pending"))
        out.print(f"{kind}: {s['new'] + s['updated']} new or changed version(s) by {who}; {s['deleted']} deleted; "
                  f"decisions {moved}")
    return result


@annotate_app.command("status")
def annotate_status(config: Optional[Path] = CONFIG, out_dir: Optional[Path] = OUT,
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Pushed tasks, live annotations, decisions by status and agreement, per kind (no server needed)."""
    from pipeline.annotate.status import annotation_status

    cfg = _cfg(config, out_dir)
    status = annotation_status(cfg.run.out_dir, cfg.annotate)
    if as_json:
        _consoles()[1].print_json(json.dumps(status, default=str))
        return
    table = Table("kind", "tasks", "annotations", "skips", "accepted", "unclear", "pending", "alpha",
                  "new since retrain")
    for kind, s in status["kinds"].items():
        table.add_row(kind, str(s["tasks"]), str(s["annotations"]), str(s["skips"]),
                      *(str(s["decisions"].get(k, 0)) for k in ("accepted", "unclear", "pending")),
                      "-" if s["alpha"] is None else f"{s['alpha']:.3f}", str(status["new_accepted_since_retrain"]))
    out = _consoles()[1]
    out.print(table)
    for kind, s in status["kinds"].items():
        _print_records(out, f"{kind}: unclear (annotators disagree)", s["unclear"],
                       lambda u: (u["record_id"], str(u["n_votes"]),
                                  "-" if u["agreement"] is None else f"{u['agreement']:.2f}", u["reason"] or ""),
                       ("record", "votes", "agreement", "why"))
        _print_records(out, f"{kind}: skipped", s["skipped"],
                       lambda k: (k["record_id"] or "?", str(k["task_id"]), k["annotator"] or "?", k["at"] or ""),
                       ("record", "task", "annotator", "when"))


def _print_records(out: Any, title: str, rows: list[dict[str, Any]], cells: Any, header: tuple[str, ...],
                   limit: int = 20) -> None:
    """A few of the records a person should look at next; `--json` lists them all."""
    if not rows:
        return
    more = f" (first {limit} of {len(rows)}; --json lists all)" if len(rows) > limit else ""
    table = Table(*header, title=f"{title}: {len(rows)}{more}")
    for row in rows[:limit]:
        table.add_row(*cells(row))
    out.print(table)


@annotate_app.command("sync")
def annotate_sync(config: Optional[Path] = CONFIG, out_dir: Optional[Path] = OUT, ls_dir: Optional[Path] = LS,
                  port: Optional[int] = PORT,
                  retrain: bool = typer.Option(True, help="retrain when the threshold is met")) -> None:
    """Pull, and retrain (split -> train -> evaluate) once enough new decisions are accepted."""
    from pipeline.annotate.sync import new_accepted_since_retrain, requeue_unclear
    from pipeline.workflows.review import retrain as run_retrain

    cfg = _cfg(config, out_dir)
    _pushed_here(cfg)
    client = _client(_ls_dir(ls_dir, Path(cfg.run.out_dir)), port, cfg.run.out_dir)
    _pull_and_summarise(cfg, client)
    _fail_on_server_errors(lambda: requeue_unclear(client, cfg.annotate, cfg.run.out_dir))
    new = new_accepted_since_retrain(cfg.run.out_dir, cfg.annotate)
    console, out = _consoles()
    out.print(f"{new} new accepted decision(s) since the last retrain (threshold {cfg.annotate.retrain_threshold})")
    if retrain and new >= cfg.annotate.retrain_threshold:
        out.print(_fail_on_server_errors(lambda: run_retrain(cfg, client))["markdown"])
