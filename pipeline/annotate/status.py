"""Where annotation stands in a run directory, from the stores alone (no server needed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.annotate.config import AnnotateConfig


def annotation_status(out_dir: str | Path, config: AnnotateConfig) -> dict[str, Any]:
    from pipeline.annotate.agreement import agreement_summary
    from pipeline.annotate.apply import decide
    from pipeline.annotate.store import existing_stores
    from pipeline.annotate.sync import new_accepted_since_retrain

    kinds = {}
    for kind, store in existing_stores(out_dir, config).items():
        live = store.live()
        decided = decide(kind, live, config.merge_rule, config.min_annotators)
        summary = agreement_summary(decided) if decided else {"alpha": None}
        syncs = store.state().get("syncs", [])
        kinds[kind] = {
            "project_id": store.state().get("project_id"), "tasks": store.ledger().num_rows,
            "annotations": len(live), "versions": store.versions().num_rows,
            "decisions": dict(Counter(d.status for d, _ in decided.values())),
            "alpha": summary.get("alpha"), "last_sync": syncs[-1] if syncs else None,
        }
    return {"kinds": kinds, "new_accepted_since_retrain": new_accepted_since_retrain(out_dir, config)}
