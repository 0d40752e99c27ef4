"""Inter-annotator agreement, and the rules that turn several annotations into one decision.

Each annotation is reduced to one categorical verdict (`label_configs.verdict`), so the same
statistics serve every record kind: Cohen's kappa for two annotators, Fleiss' kappa for a fixed
number of ratings per task, and Krippendorff's alpha for what Label Studio really gives us, a
varying number of annotators per task. A task's decision is accepted only when its votes agree
under the project's rule; anything else is left "unclear" for a reviewer rather than guessed.

Pure Python on purpose: the numbers are small (tasks x annotators) and the formulas are easier to
check against the literature written out than vectorised.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import combinations
from typing import Literal


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; None for no items.

    When chance agreement is certain (both raters always used one and the same category) kappa
    is 0/0; we return 1.0 if they agreed on every item (they did, then) and 0.0 otherwise.
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs paired ratings, got {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[c] * cb[c] for c in ca) / (n * n)
    if expected == 1:
        return 1.0 if observed == 1 else 0.0
    return (observed - expected) / (1 - expected)


def fleiss_kappa(units: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa; every unit holds the same number (>= 2) of ratings. None for no units.

    Like `cohen_kappa`, a single category used throughout gives 1.0 rather than 0/0.
    """
    if not units:
        return None
    n = len(units[0])
    if n < 2 or any(len(u) != n for u in units):
        raise ValueError("fleiss_kappa needs the same number (>= 2) of ratings in every unit")
    totals: Counter[str] = Counter()
    per_unit = []
    for unit in units:
        counts = Counter(unit)
        totals.update(counts)
        per_unit.append((sum(c * c for c in counts.values()) - n) / (n * (n - 1)))
    observed = sum(per_unit) / len(units)
    expected = sum((t / (len(units) * n)) ** 2 for t in totals.values())
    if expected == 1:
        return 1.0
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(units: Mapping[str, Sequence[str]]) -> float | None:
    """Krippendorff's alpha for nominal data, from the coincidence matrix.

    Units with fewer than two values cannot be paired and are ignored, as are None values
    (missing ratings). None when no value can be paired; 1.0 when every pairable value is the
    same category (no disagreement is possible, so none was observed: a convention, the formula
    itself is 0/0 there).
    """
    coincidences: Counter[tuple[str, str]] = Counter()
    for values in units.values():
        present = [v for v in values if v is not None]
        m = len(present)
        if m < 2:
            continue
        for i, j in ((i, j) for i in range(m) for j in range(m) if i != j):
            coincidences[present[i], present[j]] += 1 / (m - 1)
    marginals: Counter[str] = Counter()
    for (c, _), o in coincidences.items():
        marginals[c] += o
    n = sum(marginals.values())
    if n == 0:
        return None
    # alpha = 1 - D_o / D_e with D_o = sum_{c!=k} o_ck / n and D_e = sum_{c!=k} n_c n_k / (n (n-1)).
    if len(marginals) == 1:
        return 1.0  # tested on categories, not on a float that rounding may leave near 0
    disagreement = sum(o for (c, k), o in coincidences.items() if c != k)
    expected = (n * n - sum(nc * nc for nc in marginals.values())) / (n - 1)
    return 1 - disagreement / expected


@dataclass
class Vote:
    annotator: str
    verdict: str | None
    value: dict  # parse_annotation output
    updated_at: str  # ISO 8601
    annotation_id: int | None = None  # the Label Studio annotation, named in lineage


@dataclass
class Decision:
    status: Literal["accepted", "unclear", "pending"]
    verdict: str | None
    value: dict | None
    n_votes: int
    agreement: float | None  # fraction of annotator pairs that agree; None for fewer than 2 votes
    reason: str


def _when(vote: Vote) -> datetime:
    # Label Studio writes "...Z" and "+00:00" alike; string order would mix them up.
    t = datetime.fromisoformat(vote.updated_at)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def effective_votes(votes: Sequence[Vote]) -> list[Vote]:
    """The votes that count: non-empty, and one per annotator (their latest), in input order.

    Label Studio lets one person submit several annotations on a task; counting them all would
    let one annotator outvote the others.
    """
    latest: dict[str, tuple[datetime, int]] = {}
    for i, v in enumerate(votes):
        if v.verdict is not None and (v.annotator not in latest or _when(v) >= latest[v.annotator][0]):
            latest[v.annotator] = (_when(v), i)
    keep = {i for _, i in latest.values()}
    return [v for i, v in enumerate(votes) if i in keep]


def pair_agreement(verdicts: Sequence[str]) -> float | None:
    pairs = list(combinations(verdicts, 2))
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else None


def _accepted_value(winners: Sequence[Vote]) -> dict:
    """The value of the most recent winning vote; for a plain verdict its rating is the median.

    Different rewrites are all "rewrite" but cannot be merged as text, so the latest one wins
    whole: it is the one most likely written with the others in view. Ratings of the winners
    are merged as their median, rounded down so that a split 3/4 does not round up to praise.
    """
    latest = max(enumerate(winners), key=lambda iv: (_when(iv[1]), iv[0]))[1]
    value = dict(latest.value)
    ratings = [v.value["rating"] for v in winners if v.value.get("rating") is not None]
    if latest.verdict != "rewrite" and "rating" in value and ratings:
        value["rating"] = math.floor(statistics.median(ratings))
    return value


def merge(votes: Sequence[Vote], rule: Literal["majority", "unanimity"],
          min_annotators: int = 1) -> Decision:
    """One decision from a task's votes under `rule`; see the module docstring."""
    if rule not in ("majority", "unanimity"):
        raise ValueError(f"unknown merge rule {rule!r}; expected 'majority' or 'unanimity'")
    if min_annotators < 1:
        raise ValueError("min_annotators must be at least 1")
    counted = effective_votes(votes)
    n = len(counted)
    agreement = pair_agreement([v.verdict for v in counted])  # type: ignore[misc]
    if n < min_annotators:
        return Decision("pending", None, None, n, agreement,
                        f"waiting for {min_annotators - n} more annotator(s)")
    tally = Counter(v.verdict for v in counted).most_common()
    top, top_n = tally[0]
    ok = len(tally) == 1 if rule == "unanimity" else top_n * 2 > n
    spread = ", ".join(f"{verdict}x{c}" for verdict, c in tally)
    if not ok:
        return Decision("unclear", None, None, n, agreement, f"no {rule}: {spread}")
    winners = [v for v in counted if v.verdict == top]
    return Decision("accepted", top, _accepted_value(winners), n, agreement,
                    f"{rule}: {top_n} of {n} voted {top}")


def annotator_agreement(decisions_votes: Mapping[str, tuple[Decision, Sequence[Vote]]]
                        ) -> dict[str, dict]:
    """Per annotator: how often they match accepted decisions, and each other (kappa included)."""
    by_task = {t: {v.annotator: v.verdict for v in effective_votes(votes)}
               for t, (_, votes) in decisions_votes.items()}
    names = sorted({a for verdicts in by_task.values() for a in verdicts})
    report: dict[str, dict] = {}
    for a in names:
        tasks = [t for t in by_task if a in by_task[t]]
        accepted = [t for t in tasks if decisions_votes[t][0].status == "accepted"]
        mine = [by_task[t][a] for t in accepted]
        result = [decisions_votes[t][0].verdict for t in accepted]
        n_agree = sum(x == y for x, y in zip(mine, result))
        pairwise = {}
        for b in names:
            shared = [t for t in tasks if b != a and b in by_task[t]]
            if shared:
                xs, ys = [by_task[t][a] for t in shared], [by_task[t][b] for t in shared]
                pairwise[b] = {"n": len(shared),
                               "agreement": sum(x == y for x, y in zip(xs, ys)) / len(shared),
                               "kappa": cohen_kappa(xs, ys)}  # type: ignore[arg-type]
        report[a] = {"n_tasks": len(tasks), "n_agree_with_result": n_agree,
                     "agreement_with_result": n_agree / len(accepted) if accepted else None,
                     "kappa_with_result": cohen_kappa(mine, result),  # type: ignore[arg-type]
                     "pairwise": pairwise}
    return report


def agreement_summary(decisions_votes: Mapping[str, tuple[Decision, Sequence[Vote]]]) -> dict:
    """Counts by status, Krippendorff's alpha over all tasks, and the mean task agreement."""
    by_status = Counter(d.status for d, _ in decisions_votes.values())
    task_agreement = [d.agreement for d, _ in decisions_votes.values() if d.agreement is not None]
    units = {t: [v.verdict for v in effective_votes(votes)] for t, (_, votes) in decisions_votes.items()}
    return {
        "n_tasks": len(decisions_votes),
        "by_status": {s: by_status.get(s, 0) for s in ("accepted", "unclear", "pending")},
        "alpha": krippendorff_alpha(units),  # type: ignore[arg-type]
        "mean_agreement": statistics.fmean(task_agreement) if task_agreement else None,
    }
