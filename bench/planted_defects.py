"""Planted-defect benchmark: known defects planted into clean labelled data, the pipeline run on it.

    .venv/bin/python bench/planted_defects.py [--config bench/planted_defects.yaml] [--out DIR] [--seeds N]

Reports, per planted defect kind, the recall of the stage meant to catch it and, per stage, the
share of its rejections that planted defects explain; the label-review selection's precision and
recall on label flips; and each model family (the config's `models`) trained with several seeds
on the clean, the corrupted and the curated train sets, and on the curated set after review
(selected labels corrected), each curated arm beside a size-matched random control, all on the
one clean test set: macro-F1 with 95% intervals over test items and seeds, paired differences,
and the share of the corruption's damage that curation recovers. Everything is written to
OUT/defects_report.json. See pipeline/workflows/planted_defects.py for the steps.
"""

import _setup  # noqa: F401

import argparse
import time
from pathlib import Path

import yaml

from pipeline.defects.config import DefectBenchConfig
from pipeline.defects.training import FAMILIES
from pipeline.workflows.planted_defects import run_defect_bench


def interval(d: dict) -> str:
    return f"{d['value']:.4f} [{d['low']:.4f}, {d['high']:.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path(__file__).with_suffix(".yaml"))
    ap.add_argument("--out", default=None, help="output folder (default: the config's out_dir)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--models", default=None, help="comma-separated model families (tfidf, head, finetune); "
                    "default: the config's")
    ap.add_argument("--detection-only", action="store_true", help="plant, run the pipeline and score it; no models")
    args = ap.parse_args()
    raw = yaml.safe_load(args.config.read_text()) or {}
    raw.update({k: v for k, v in (("out_dir", args.out), ("seeds", args.seeds)) if v is not None})
    cfg = DefectBenchConfig.model_validate(raw)
    started = time.perf_counter()
    models = [] if args.detection_only else args.models.split(",") if args.models else None
    report = run_defect_bench(cfg, models=models)
    print("\ndetection per planted kind (recall of the stage meant to catch it)")
    for d in report["detection"]:
        print(f"  {d['kind']:16s} planted {d['planted']:5,}  caught {d['caught']:5,}  recall {d['recall']:.3f}"
              + (f"  missed e.g. {', '.join(d['missed_examples'])}" if d["missed_examples"] else ""))
    print("precision per stage (share of its flags that planted defects explain)")
    for p in report["stage_precision"]:
        prec = "n/a" if p["precision"] is None else f"{p['precision']:.3f}"
        print(f"  {p['stage']:22s} flagged {p['flagged']:5,}  explained {p['explained']:5,}  precision {prec}"
              + (f"  others: {p['unplanted_reasons']}" if p["unplanted_reasons"] else ""))
    for stage, kinds in report.get("score_catches", {}).items():
        print(f"what {stage} rejected, per planted kind of the records it saw (its decision: top-k)")
        for kind, c in kinds.items():
            print(f"  {kind:16s} in {c['in']:5,}  rejected {c['rejected']:5,}  share {c['share']:.3f}")
    r = report["review"]
    print(f"label review (top {r['share']:.0%} of curated train by confident learning, out-of-fold {r['features']}): "
          f"{r['selected']:,} selected, {r['flips_selected']:,} of {r['flips_in_curated']:,} flips; "
          f"precision {r['precision']:.3f}, recall {r['recall']:.3f}")
    print(f"\nmodels are scored on the {report['test_scored']:,} test items no defect copied into train "
          f"({report['test_contaminated_left_out']:,} contaminated ones left out)")
    shares = ", ".join(f"{n} {v:.1%}" for n, v in report["wrong_labels"].items())
    print(f"records with a wrong label: {shares}")
    for family, m in report["models"].items():
        print(f"\nmacro-F1 on the clean test set, {FAMILIES[family]} ({m['seeds']} seed(s); 95% intervals over "
              f"test items{' and seeds' if m['seeds'] > 1 else ''})")
        f1 = {e["variant"]: e for e in m["effects"] if e["metric"] == "macro_f1"}
        for e in f1.values():
            diffs = [d for d in (e["vs_previous"], e["vs_control"]) if d]
            print(f"  {e['variant']:18s} train {e['n_train']:5,}  {interval(e)}"
                  + "".join(f"   vs {d['other']}: {d['value']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] "
                            f"{d['verdict']}" for d in diffs)
                  + (f"   ({e['train_seconds']:.0f} s training)" if e["train_seconds"] >= 1 else ""))
        damage = f1["corrupted"]["vs_previous"]
        for arm, rec in m["recovered"].items():
            # A share of a damage that may be zero is a ratio over noise: say so instead of a number.
            shown = interval(rec) if damage["verdict"] == "hurts" else "n/a: the corruption did no measurable damage"
            print(f"  share of the damage recovered by {arm}: {shown}")
    print(f"\nwritten: {Path(cfg.out_dir) / 'defects_report.json'}  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
