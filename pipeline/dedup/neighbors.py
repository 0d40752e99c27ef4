"""Cosine nearest neighbours above a threshold: blocked matrix products, k-means for large sets.

Rows are L2-normalised, so cosine is a dot product and a block of rows against a block of rows
is one matrix product. Only a block x block tile of similarities exists at a time, never n x n,
and pairs above the threshold are pulled out of each tile with torch.nonzero. Above a size, all
pairs cost too much (n^2 / 2 products), so rows are first partitioned by spherical k-means and
compared only within their cluster (SemDeDup, Abbas et al. 2023): near duplicates lie close
together and mostly share their nearest centroid; rows close to a border between two clusters
are compared in both, which catches the pairs that straddle it. On CUDA tiles are computed in fp16 and
the pairs they suggest are re-scored in fp32, so results do not depend on the device.
"""

from __future__ import annotations

import math

import numpy as np

# fp32 rounding of a 384-term dot product is ~1e-6: with this slack, threshold 1.0 still
# catches identical vectors. fp16 tiles err by up to ~1e-3, so they propose candidates with a
# wider margin and the fp32 re-score decides.
_EPS32 = 1e-5
_MARGIN16 = 4e-3
_ASSIGN_BLOCK = 65_536  # rows scored against all centroids at once (rows x k floats)
_BOUNDARY = 0.09  # x sqrt(1 - threshold): the centroid margin of rows compared in two clusters


def _device(device: str) -> str:
    from pipeline.dedup.embed import resolve_device

    return resolve_device(device)


def _tensors(emb: np.ndarray, device: str):
    """(fp32 rows on device, the rows tiles are computed in: fp16 on CUDA, the same fp32 on CPU)."""
    import torch

    x32 = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32)).to(device)
    return x32, (x32.half() if device == "cuda" else x32)


class _Tiles:
    """Scratch for one tile of similarities and its hit mask, allocated once per search.

    A fresh block x block tensor per tile, freed between small surviving pair arrays, fragments
    the C heap: measured here, resident memory grew ~7 MB a tile (4 GB over 100k rows). Reused
    buffers keep it flat.
    """

    def __init__(self, block: int, like):
        import torch

        self.sims = torch.empty(block * block, dtype=like.dtype, device=like.device)
        self.hit = torch.empty(block * block, dtype=torch.bool, device=like.device)

    def pairs(self, a, b, a32, b32, threshold: float, upper: bool):
        """Pairs (row of a, row of b) with cosine >= threshold; upper: a is b, keep j > i."""
        import torch

        shape = (len(a), len(b))
        sims = torch.matmul(a, b.T, out=self.sims[:shape[0] * shape[1]].view(shape))
        low = threshold - (_MARGIN16 if sims.dtype == torch.float16 else _EPS32)
        ij = torch.nonzero(torch.ge(sims, low, out=self.hit[:sims.numel()].view(shape)))
        if upper:  # a tile on the diagonal: each pair appears twice and every row meets itself
            ij = ij[ij[:, 1] > ij[:, 0]]
        if sims.dtype == torch.float16:  # re-score the candidates in fp32
            s = (a32[ij[:, 0]] * b32[ij[:, 1]]).sum(dim=1)
            keep = s >= threshold - _EPS32
            ij, s = ij[keep], s[keep]
        else:
            s = sims[ij[:, 0], ij[:, 1]]
        return ij.cpu().numpy(), s.float().cpu().numpy()


def _blocked(xa, xa32, xb, xb32, threshold: float, block: int, same: bool, tiles: _Tiles | None = None):
    """All pairs over block x block tiles; same: xa is xb and only pairs i < j are wanted."""
    pairs, sims = [np.empty((0, 2), np.int64)], [np.empty(0, np.float32)]
    tiles = tiles if tiles is not None else _Tiles(min(block, max(len(xa), len(xb), 1)), xa)
    for i0 in range(0, len(xa), block):
        a, a32 = xa[i0:i0 + block], xa32[i0:i0 + block]
        for j0 in range(i0 if same else 0, len(xb), block):
            ij, s = tiles.pairs(a, xb[j0:j0 + block], a32, xb32[j0:j0 + block], threshold, same and i0 == j0)
            if len(s):
                pairs.append(ij.astype(np.int64) + np.array([i0, j0], dtype=np.int64))
                sims.append(s)
    return np.concatenate(pairs), np.concatenate(sims)


def _nearest_centroids(x, centroids, top: int = 1):
    """(similarities (n, top), indices (n, top)) of each row's nearest centroids, in bounded blocks of rows."""
    import torch

    best, idx = [], []
    for i0 in range(0, len(x), _ASSIGN_BLOCK):
        s, j = (x[i0:i0 + _ASSIGN_BLOCK] @ centroids.T).topk(min(top, len(centroids)), dim=1)
        best.append(s)
        idx.append(j)
    return torch.cat(best), torch.cat(idx)


def _plusplus(xs, k: int, rng: np.random.Generator):
    """k-means++ seeds: each next seed drawn with probability ~ squared distance to the nearest seed.

    Random seeds often put two in one dense region and none in another, and Lloyd iterations
    rarely repair that. Seeding is k sequential passes, so it draws from a pool of 16 rows a
    cluster (at least 4,096), not from the whole sample.
    """
    import torch

    pool = rng.choice(len(xs), size=min(len(xs), max(4096, 16 * k)), replace=False)
    xs = xs[torch.from_numpy(pool).to(xs.device)]
    seeds = [int(rng.integers(len(xs)))]
    dist = (2 - 2 * (xs @ xs[seeds[0]])).clamp_(min=0)  # squared Euclidean distance of unit rows
    for _ in range(1, k):
        p = dist.double().cpu().numpy()
        total = p.sum()
        nxt = int(rng.choice(len(p), p=p / total)) if total > 0 else int(rng.integers(len(xs)))
        seeds.append(nxt)
        dist = torch.minimum(dist, (2 - 2 * (xs @ xs[nxt])).clamp_(min=0))
    return xs[torch.tensor(seeds, device=xs.device)].clone()


def _kmeans(x32, k: int, iters: int, sample: int, seed: int):
    """Spherical k-means fitted on a sample of the fp32 rows x32 (a tensor); returns the centroids."""
    import torch

    rng = np.random.default_rng(seed)
    n = len(x32)
    k = max(1, min(k, n))
    pick = np.sort(rng.choice(n, size=min(n, max(sample, k)), replace=False))
    xs = x32[torch.from_numpy(pick).to(x32.device)]
    centroids = _plusplus(xs, k, rng)
    assign = None
    for _ in range(iters):
        best, new = (t[:, 0] for t in _nearest_centroids(xs, centroids))
        # Converged when under 0.1% of rows change cluster: later moves barely change the partition.
        if assign is not None and (new != assign).sum().item() < max(1, len(xs) // 1000):
            break
        assign = new
        sums = torch.zeros_like(centroids).index_add_(0, assign, xs)
        empty = torch.nonzero(torch.bincount(assign, minlength=k) == 0).flatten()
        if len(empty):  # an empty cluster restarts at the rows their centroids fit worst
            sums[empty] = xs[torch.argsort(best)[:len(empty)]]
        centroids = torch.nn.functional.normalize(sums, dim=1)
    return centroids


def kmeans(emb: np.ndarray, k: int, *, iters: int = 20, sample: int = 100_000, device: str = "cpu",
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spherical (cosine) k-means fitted on up to `sample` rows, then every row assigned.

    Returns (centroids (k, d) float32 unit rows, assignment (n,) int64). Fitting on a sample keeps
    the cost of 20 iterations independent of n; assignment is one pass over all rows.
    """
    device = _device(device)
    x32, _ = _tensors(emb, device)
    centroids = _kmeans(x32, k, iters, sample, seed)
    assign = _nearest_centroids(x32, centroids)[1][:, 0]
    return centroids.float().cpu().numpy(), assign.cpu().numpy().astype(np.int64)


def _memberships(x32, centroids, threshold: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(rows, clusters) sorted by cluster then row: each row in its nearest cluster, and a boundary
    row (second-nearest centroid nearly as near) in that one too; also the count of boundary rows.

    Two rows at cosine t differ by sqrt(2 - 2t) in norm, so they can sit on either side of a
    cluster border. Measured on MiniLM vectors of chatterbot texts with noisy copies planted at
    cosine 0.96-0.995 (100k rows, 20 clusters), 1.2-2.8% of the planted pairs straddled one;
    comparing boundary rows within 0.02 (this margin at t = 0.95) in both clusters found all of
    them for 10-24% more comparisons. The margin grows as sqrt(1 - t): lower thresholds, farther pairs.
    """
    sims, idx = (t.cpu().numpy() for t in _nearest_centroids(x32, centroids, top=2))
    rows = np.arange(len(idx))
    if idx.shape[1] == 1:
        return rows, idx[:, 0], 0
    boundary = np.flatnonzero(sims[:, 0] - sims[:, 1] < _BOUNDARY * math.sqrt(max(0.0, 1 - threshold)))
    rows = np.concatenate([rows, boundary])
    clusters = np.concatenate([idx[:, 0], idx[boundary, 1]])
    order = np.lexsort((rows, clusters))
    return rows[order], clusters[order], len(boundary)


def _clustered(x32, x, threshold: float, block: int, cluster_size: int, seed: int):
    """Pairs within k-means clusters only; also returns counters."""
    import torch

    k = math.ceil(len(x32) / cluster_size)
    centroids = _kmeans(x32, k, iters=20, sample=100_000, seed=seed)
    rows, clusters, n_boundary = _memberships(x32, centroids, threshold)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(clusters, minlength=len(centroids)))])
    largest = int(np.diff(bounds).max())
    pairs, sims, comparisons = [np.empty((0, 2), np.int64)], [np.empty(0, np.float32)], 0
    tiles = _Tiles(min(block, largest), x)  # one scratch for every cluster
    for c in range(len(centroids)):
        members = rows[bounds[c]:bounds[c + 1]]  # ascending, so local pairs i < j stay i < j
        if len(members) < 2:
            continue
        idx = torch.from_numpy(members).to(x32.device)
        xc, xc32 = x[idx], x32[idx]
        ij, s = _blocked(xc, xc32, xc, xc32, threshold, block, same=True, tiles=tiles)
        pairs.append(members[ij].reshape(-1, 2))
        sims.append(s)
        comparisons += len(members) * (len(members) - 1) // 2
    pairs, sims = np.concatenate(pairs), np.concatenate(sims)
    # Two boundary rows sharing both clusters were compared twice: keep each pair once.
    _, once = np.unique(pairs[:, 0] * len(x32) + pairs[:, 1], return_index=True)
    counters = {"semantic:clusters": len(centroids), "semantic:boundary_rows": n_boundary,
                "semantic:comparisons": comparisons, "semantic:largest_cluster": largest}
    return pairs[once], sims[once], counters


def similar_pairs(emb: np.ndarray, threshold: float, *, valid: np.ndarray | None = None, device: str = "cpu",
                  block: int = 4096, cluster_above: int = 50_000, cluster_size: int = 5_000,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Pairs (i < j) of rows of emb with cosine >= threshold: (pairs (m, 2) int64, sims (m,) float32, counters).

    valid: a boolean mask of the rows taking part (others are never paired); indices are rows of emb.
    Up to cluster_above rows every pair is compared; above, only pairs within a k-means cluster of
    about cluster_size rows (rows near a cluster border in both of theirs). Counters:
    semantic:clusters (0 when every pair was compared), semantic:boundary_rows,
    semantic:comparisons, semantic:largest_cluster, semantic:pairs. Pairs come sorted.
    """
    device = _device(device)
    rows = np.arange(len(emb)) if valid is None else np.flatnonzero(np.asarray(valid, dtype=bool))
    x32, x = _tensors(emb[rows] if valid is not None else emb, device)
    n = len(rows)
    if n <= cluster_above:
        pairs, sims = _blocked(x, x32, x, x32, threshold, block, same=True)
        counters = {"semantic:clusters": 0, "semantic:boundary_rows": 0,
                    "semantic:comparisons": n * (n - 1) // 2, "semantic:largest_cluster": n}
    else:
        pairs, sims, counters = _clustered(x32, x, threshold, block, cluster_size, seed)
    pairs = rows[pairs].reshape(-1, 2).astype(np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    counters = {k: int(v) for k, v in counters.items()} | {"semantic:pairs": len(order)}
    return pairs[order], sims[order].astype(np.float32), counters


def cross_similar_pairs(a: np.ndarray, b: np.ndarray, threshold: float, *, device: str = "cpu",
                        block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row of a, row of b) with cosine >= threshold: a new batch against a kept or reference set.

    Every pair is compared, in tiles; for a very large b the caller passes it in chunks and offsets j.
    """
    device = _device(device)
    a32, xa = _tensors(a, device)
    b32, xb = _tensors(b, device)
    pairs, sims = _blocked(xa, a32, xb, b32, threshold, block, same=False)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order], sims[order].astype(np.float32)
