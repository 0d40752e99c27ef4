"""A registered model per task, and the `champion` alias that moves only for a better model.

"Better" is judged on one test set: the challenger's. When the champion was measured on another
test set (annotations relabelled test records, so their ids and the fingerprint changed), it is
scored again on the challenger's test set first; two scores from different test sets are never
compared (`beats` refuses them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pipeline.tracking.config import DEFAULT_CHAMPION_METRICS, TrackingError
from pipeline.tracking.store import LOCAL_ARTIFACTS, Tracker

CHAMPION = "champion"
_LOWER_IS_BETTER = {"test_loss", "test_perplexity", "perplexity", "val_loss"}


@dataclass(frozen=True)
class Score:
    metric: str
    value: float
    test_fingerprint: str


def champion_metric(tracker: Tracker, row: dict[str, Any]) -> str:
    """The test metric the task's champion is judged on; code falls back to the generation metric
    when its test records carry no tests."""
    metrics, task = row["metrics"], row["task"]
    generation = (row.get("config_json") or {}).get("generation_metric") or DEFAULT_CHAMPION_METRICS["instruction"]
    name = tracker.config.champion_metrics.get(task) or (
        generation if row["kind"] == "instruction" or (row["kind"] == "code" and "code_pass_rate" not in metrics)
        else DEFAULT_CHAMPION_METRICS[row["kind"]])
    if not isinstance(metrics.get(name), (int, float)):
        raise TrackingError(f"task {task!r}: its champion metric {name!r} is not among its test metrics "
                            f"({', '.join(sorted(metrics))}); set tracking.champion_metrics.{task}")
    return name


def beats(challenger: Score, champion: Score, min_improvement: float = 0.0) -> bool:
    """True when the challenger is better by more than `min_improvement` on the same test set."""
    if challenger.metric != champion.metric:
        raise TrackingError(f"cannot compare {challenger.metric} with {champion.metric}: score both on one metric")
    if challenger.test_fingerprint != champion.test_fingerprint:
        raise TrackingError(f"cannot compare scores from different test sets ({challenger.test_fingerprint[:12]} vs "
                            f"{champion.test_fingerprint[:12]}): score the champion on the challenger's test set")
    gain = champion.value - challenger.value if challenger.metric in _LOWER_IS_BETTER \
        else challenger.value - champion.value
    return gain > min_improvement


def register_version(tracker: Tracker, row: dict[str, Any], run_id: str, score: Score) -> Any:
    """The registered model version of this MLflow run (created once), tagged with its score."""
    c = tracker.client
    name = tracker.registered_name(row["task"])
    found = tracker.call("look up the registered model", c.search_registered_models, f"name = '{name}'")
    if not found:
        tracker.call("register a model", c.create_registered_model, name,
                     description=f"curate task {row['task']!r} ({row['kind']} records)")
    versions = tracker.call("look up model versions", c.search_model_versions,
                            f"name = '{name}' and run_id = '{run_id}'")
    if versions:
        return versions[0]
    source = (c.get_run(run_id).info.artifact_uri + "/model") if tracker.uploads_weights \
        else str(Path(row["model_dir"]).resolve())
    tags = {"curate.metric": score.metric, "curate.score": repr(score.value),
            "curate.test_fingerprint": score.test_fingerprint, "curate.data_version": row["data_version"],
            "curate.model_dir": str(Path(row["model_dir"]).resolve())}
    return tracker.call("register a model version", c.create_model_version, name, source, run_id=run_id, tags=tags)


def current_champion(tracker: Tracker, name: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return tracker.client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise TrackingError(f"MLflow at {tracker.uri} refused to look up {name}@{CHAMPION}: {exc}") from exc


def version_score(version: Any) -> Score:
    return Score(version.tags["curate.metric"], float(version.tags["curate.score"]),
                 version.tags["curate.test_fingerprint"])


def judge(tracker: Tracker, version: Any, rescore: Callable[[Any], dict[str, float]]) -> dict[str, Any]:
    """Move the champion alias to `version` if it beats the champion; the decision, with both scores.

    `rescore(champion_version)` gives the champion's test metrics on the challenger's test set,
    used when the champion was measured on another one."""
    c, name = tracker.client, version.name
    new = version_score(version)
    champion = current_champion(tracker, name)
    decision = {"registered_model": name, "version": int(version.version), "metric": new.metric,
                "score": new.value, "test_fingerprint": new.test_fingerprint}
    if champion is None:
        tracker.call("set the champion", c.set_registered_model_alias, name, CHAMPION, version.version)
        return {**decision, "decision": "promoted", "reason": "the task's first model"}
    decision["champion_version"] = int(champion.version)
    if int(champion.version) == int(version.version):
        return {**decision, "decision": "unchanged", "reason": "already the champion", "champion_score": new.value}
    old = version_score(champion)
    if old.test_fingerprint != new.test_fingerprint or old.metric != new.metric:
        metrics = rescore(champion)
        if new.metric not in metrics:
            raise TrackingError(f"the champion {name} v{champion.version}, scored again, has no {new.metric}")
        old = Score(new.metric, float(metrics[new.metric]), new.test_fingerprint)
        decision["champion_rescored"] = True
    decision["champion_score"] = old.value
    if beats(new, old, tracker.config.min_improvement):
        tracker.call("move the champion", c.set_registered_model_alias, name, CHAMPION, version.version)
        return {**decision, "decision": "promoted", "reason": f"better {new.metric} on the same test set"}
    return {**decision, "decision": "kept", "reason": f"not better than the champion's {new.metric} "
            f"by more than {tracker.config.min_improvement}"}


def champion_model_dir(tracker: Tracker, task: str) -> Path | None:
    """A local folder holding the task's champion, or None when the task has none yet."""
    version = current_champion(tracker, tracker.registered_name(task))
    return None if version is None else version_model_dir(tracker, version)


def version_model_dir(tracker: Tracker, version: Any) -> Path:
    """The version's own model folder when it is on this machine, else its weights fetched once
    from the artifact store (a model trained and uploaded elsewhere)."""
    local = Path(version.tags.get("curate.model_dir", ""))
    if version.tags.get("curate.model_dir") and (local / "training.json").is_file():
        return local
    target = tracker.run_dir / LOCAL_ARTIFACTS / "champions" / f"{version.name}-v{version.version}"
    if not (target / "model" / "training.json").is_file():  # fetched once, into <target>/model
        target.mkdir(parents=True, exist_ok=True)
        tracker.call(f"fetch the weights of {version.name} v{version.version}", tracker.client.download_artifacts,
                     version.run_id, "model", str(target))
    return target / "model"


def champion_line(d: dict[str, Any]) -> str:
    """The champion gate's decision in one sentence."""
    scores = f"{d['metric']} {d['score']:.4f}"
    if d.get("champion_score") is not None:
        scores += f" vs the champion's {d['champion_score']:.4f}" + (
            " (scored again on this test set)" if d.get("champion_rescored") else " on the same test set")
    if d["decision"] == "promoted":
        return f"Champion: {d['registered_model']} v{d['version']} promoted ({d['reason']}; {scores})."
    if d["decision"] == "kept":
        return (f"Champion: {d['registered_model']} v{d['champion_version']} kept; the new v{d['version']} is "
                f"{d['reason']} ({scores}). Selection and pre-annotation keep using v{d['champion_version']}.")
    return f"Champion: {d['registered_model']} v{d['version']} ({d['reason']})."
