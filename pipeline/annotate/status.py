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
        skips = store.skips()
        kinds[kind] = {
            "project_id": store.state().get("project_id"), "tasks": store.ledger().num_rows,
            "annotations": len(live), "versions": store.versions().num_rows, "skips": len(skips),
            "decisions": dict(Counter(d.status for d, _ in decided.values())),
            "alpha": summary.get("alpha"), "last_sync": syncs[-1] if syncs else None,
            # Which records need a person next: annotators disagree, or someone skipped them.
            "unclear": [{"record_id": rid, "n_votes": d.n_votes, "agreement": d.agreement, "reason": d.reason,
                         "annotators": [v.annotator for v in votes]}
                        for rid, (d, votes) in sorted(decided.items()) if d.status == "unclear"],
            "skipped": [{"record_id": v["record_id"], "task_id": v["task_id"], "annotator": v["annotator"],
                         "at": v["updated_at"]} for v in skips],
        }
    return {"kinds": kinds, "new_accepted_since_retrain": new_accepted_since_retrain(out_dir, config)}
