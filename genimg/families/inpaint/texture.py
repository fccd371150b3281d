"""Texture for the network's fill: coarse-to-fine patch synthesis guided by it.

The network (network.py) is trained for fidelity, so where a hole's content is uncertain it paints the average of
what could be there: a smooth smear where grass, brick or wood grain should continue. Real texture is already in
the photo, outside the hole. So the hole is rebuilt from the photo's own patches (Wexler, Shechtman & Irani 2007,
"Space-time completion"; the search is PatchMatch, Barnes et al. 2009, as in Content-Aware Fill), and the network
decides *which* patches: each hole patch is matched on two things at once,

- its current pixels (what the coarser level and the neighbouring patches made of it), and
- the network's fill at that place, against a blurred copy of the candidate (the fill is blurred, so comparing
  it with a sharp patch would favour flat patches; comparing blur with blur asks only "same colours and shading").

Every level of a pyramid (coarsest about 64 px) alternates: find each hole-touching patch's nearest known patch
(brute force while that is cheap, PatchMatch's propagation and random search above), then set each hole pixel to
the mean of what the patches covering it say (the "vote"). The nearest-patch field is enlarged to start the next
level; the full resolution only copies and votes, as most of its detail comes with the patches it copies.

Known pixels never change. A hole with too few whole known patches around it keeps the network's fill.
"""
import numpy as np
import torch
from torch.nn import functional as F

PATCH = 7  # patch side at every level
COARSEST = 64  # the pyramid's smallest level is about this long (long side)
GUIDE_WEIGHT = 2.0  # how much the network's fill counts against a patch's own pixels (docs/history.md)
BLUR_SIGMA = 1.5  # px at each level: the candidates' blur for the guide term
BRUTE_FORCE_LIMIT = 4e7  # queries x sources: above this a level uses PatchMatch
MIN_SOURCES = 16
JITTER = 0.1  # exhaustive searches: each distance raised by up to 10 %, by the seed
COHERENCE = 0.3  # a neighbour's match, shifted, wins when within 30 % of the best: whole stretches copy together
FEATURE_DIMS = 24  # patches are compared in their first principal components


def gaussian_blur(x, sigma: float):
    radius = max(1, int(round(2.5 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def patch_table(x, k: int = PATCH):
    """(1, C, H, W) -> (H*W, C*k*k): each pixel's k x k patch (borders replicated)."""
    r = k // 2
    return F.unfold(F.pad(x, (r, r, r, r), mode="replicate"), k)[0].T.contiguous()


def principal_axes(rows, dims: int = FEATURE_DIMS, sample: int = 4096, rng_seed: int = 0):
    """(D, dims): the main directions of a sample of patch vectors (PCA without centring: the distances between
    projected patches are what matters, and a shared offset cancels). Matching in 24 numbers instead of 294 is
    what makes the search fast enough; the axes keep nearly all of the patches' variance."""
    if len(rows) > sample:
        rows = rows[torch.from_numpy(np.random.default_rng(rng_seed).choice(len(rows), sample, replace=False))]
    _, _, v = torch.linalg.svd(rows - rows.mean(0), full_matrices=False)
    return v[:dims].T.contiguous()


def shrink(image, hole, size):
    """The image and hole at `size`: a pixel with any masked part is masked; known pixels average known ones."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image, hole
    known = 1 - hole
    weight = F.interpolate(known, size, mode="area")
    small = F.interpolate(image * known, size, mode="area") / weight.clamp_min(1e-6)
    return small, (weight < 1 - 1e-6).float()


class Level:
    """One pyramid level: the current estimate, the hole, the guide, and which patches are queries / sources."""

    def __init__(self, image, hole, guide, searched: bool = True):
        self.image, self.hole, self.guide = image, hole, guide
        self.height, self.width = image.shape[-2:]
        r = PATCH // 2
        # Sources: patches wholly known and wholly inside the picture; queries: patches touching the hole.
        known = F.pad(1 - hole, (r, r, r, r), value=0.0)
        self.source = (-F.max_pool2d(-known, PATCH, 1) > 0.5)[0, 0]
        self.query = (F.max_pool2d(hole, PATCH, 1, r) > 0.5)[0, 0]
        self.source_index = self.source.flatten().nonzero()[:, 0]
        self.query_index = self.query.flatten().nonzero()[:, 0]
        if not searched:
            return
        blurred = gaussian_blur(image, BLUR_SIGMA)
        features = torch.cat([patch_table(image), GUIDE_WEIGHT * patch_table(blurred)], 1)
        self.projection = principal_axes(features[self.source_index], rng_seed=0)
        self.source_features = features @ self.projection

    def query_features(self, current):
        rows = self.query_index
        features = torch.cat([patch_table(current)[rows], GUIDE_WEIGHT * patch_table(self.guide)[rows]], 1)
        return features @ self.projection

    def distance(self, features, candidates):
        """Squared distance of each query patch to its candidate source (inf where the candidate is not a source)."""
        ok = self.source.flatten()[candidates]
        d = ((features - self.source_features[candidates]) ** 2).sum(1)
        return torch.where(ok, d, torch.full_like(d, float("inf")))

    def brute_force(self, features, rng):
        """Every query against every source. Each distance is raised by up to JITTER of itself, at random (the
        seed): among near-equal matches (a repeating texture has many) the seed picks, so another seed gives
        another fill; a clearly better match still wins."""
        sources = self.source_features[self.source_index]
        norms = (sources ** 2).sum(1)
        best = torch.empty(len(features), dtype=torch.long)
        for start in range(0, len(features), 4096):
            chunk = features[start:start + 4096]
            d = (norms[None] - 2 * chunk @ sources.T + (chunk ** 2).sum(1, keepdim=True)).clamp_min(0)
            d = d * (1 + JITTER * torch.from_numpy(rng.random(d.shape, dtype=np.float32)))
            best[start:start + 4096] = self.source_index[d.argmin(1)]
        return best

    def shift(self, flat, dy, dx):
        """Flat indices moved by (dy, dx), clamped to the picture (the distance check rejects non-sources)."""
        y, x = flat // self.width + dy, flat % self.width + dx
        return y.clamp(0, self.height - 1) * self.width + x.clamp(0, self.width - 1)

    def patch_match(self, features, nearest, rng, iterations: int = 2):
        """Improve `nearest` (flat source index per query) by propagation from the four neighbours and random
        search in shrinking windows (all queries at once)."""
        field = torch.arange(self.height * self.width)
        best_d = self.distance(features, nearest)
        radius = max(self.height, self.width) // 4
        for _ in range(iterations):
            field[self.query_index] = nearest
            for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                neighbour = self.shift(self.query_index, -dy, -dx)
                candidate = self.shift(field[neighbour], dy, dx)
                d = self.distance(features, candidate) * (1 - COHERENCE)
                better = d < best_d
                nearest, best_d = torch.where(better, candidate, nearest), torch.where(better, d, best_d)
            r = radius
            while r >= 1:
                dy = torch.from_numpy(rng.integers(-r, r + 1, len(nearest)))
                dx = torch.from_numpy(rng.integers(-r, r + 1, len(nearest)))
                candidate = self.shift(nearest, dy, dx)
                d = self.distance(features, candidate)
                better = d < best_d
                nearest, best_d = torch.where(better, candidate, nearest), torch.where(better, d, best_d)
                r //= 2
        return nearest

    def copy(self, nearest):
        """Each hole pixel: the pixel its own nearest patch is centred on. Used at the full resolution, whose field
        is the coarser one doubled: each 2x2 block copies a 2x2 block, so coherent stretches copy whole texture
        (a vote would average patches that disagree by a pixel's shift, blurring what it copies)."""
        flat = self.image[0].reshape(3, -1).clone()
        hole = (self.hole.flatten() > 0.5)[self.query_index]
        flat[:, self.query_index[hole]] = flat[:, nearest[hole]]
        return flat.view(1, 3, self.height, self.width)

    def vote(self, nearest):
        """Each hole pixel: the mean of what the patches covering it copy there. Known pixels stay."""
        r = PATCH // 2
        qy, qx = self.query_index // self.width, self.query_index % self.width
        sy, sx = nearest // self.width, nearest % self.width
        flat_image = self.image[0].reshape(3, -1)
        total = torch.zeros(3, self.height * self.width)
        count = torch.zeros(self.height * self.width)
        hole = self.hole.flatten() > 0.5
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                py, px = qy + dy, qx + dx
                inside = (py >= 0) & (py < self.height) & (px >= 0) & (px < self.width)
                target = (py * self.width + px)[inside]
                keep = hole[target]
                target = target[keep]
                source = ((sy + dy) * self.width + (sx + dx))[inside][keep]
                total.index_add_(1, target, flat_image[:, source])
                count.index_add_(0, target, torch.ones(len(target)))
        voted = total / count.clamp_min(1)
        out = torch.where(hole & (count > 0), voted, flat_image)
        return out.view(1, 3, self.height, self.width)


def enlarge_field(nearest, coarse: Level, fine: Level):
    """The nearest-patch field of the coarser level, doubled, as the start for the finer one's queries."""
    field = torch.arange(coarse.height * coarse.width)
    field[coarse.query_index] = nearest
    fy, fx = fine.query_index // fine.width, fine.query_index % fine.width
    cy = (fy * coarse.height // fine.height).clamp(max=coarse.height - 1)
    cx = (fx * coarse.width // fine.width).clamp(max=coarse.width - 1)
    source = field[cy * coarse.width + cx]
    sy = source // coarse.width * fine.height // coarse.height + fy % 2
    sx = source % coarse.width * fine.width // coarse.width + fx % 2
    return sy.clamp(0, fine.height - 1) * fine.width + sx.clamp(0, fine.width - 1)


@torch.no_grad()
def synthesize(rgb: np.ndarray, hole: np.ndarray, guide: np.ndarray, seed: int = 0,
               iterations=(3, 2, 2, 1)) -> np.ndarray:
    """(H, W, 3) float32 photo, (H, W) bool hole, (H, W, 3) float32 network fill -> the hole rebuilt from the
    photo's patches, guided by the fill (known pixels unchanged). `iterations`: search-and-vote rounds per level,
    coarsest first (the last entry repeats for any further level; the full resolution gets one)."""
    rng = np.random.default_rng(seed)
    image = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]
    mask = torch.from_numpy(np.ascontiguousarray(hole, np.float32))[None, None]
    fill = torch.from_numpy(np.ascontiguousarray(guide, np.float32)).permute(2, 0, 1)[None]
    height, width = hole.shape
    count = max(1, int(np.floor(np.log2(max(height, width) / COARSEST))) + 1)
    sizes = [(max(1, round(height / 2 ** k)), max(1, round(width / 2 ** k))) for k in reversed(range(count))]
    current, nearest, previous = None, None, None
    for k, size in enumerate(sizes):
        small, small_hole = shrink(image, mask, size)
        small_guide = F.interpolate(fill, size, mode="area") if size != (height, width) else fill
        last = k == len(sizes) - 1
        copy_only = last and k > 0
        level = Level(small, small_hole, small_guide, searched=not copy_only)
        if len(level.source_index) < MIN_SOURCES or len(level.query_index) == 0:
            return np.asarray(guide, np.float32)
        start = small_guide if current is None else F.interpolate(current, size, mode="bilinear", align_corners=False)
        current = small * (1 - small_hole) + start * small_hole
        if previous is not None:
            nearest = enlarge_field(nearest, previous, level)
        if copy_only:
            level.image = current
            current = level.copy(nearest)
            break
        cheap = len(level.query_index) * len(level.source_index) <= BRUTE_FORCE_LIMIT
        for _ in range(iterations[min(k, len(iterations) - 1)]):
            features = level.query_features(current)
            if cheap:
                nearest = level.brute_force(features, rng)
            else:
                if nearest is None:  # a picture too big for one exhaustive search even at its coarsest
                    nearest = level.source_index[torch.from_numpy(
                        rng.integers(0, len(level.source_index), len(level.query_index)))]
                nearest = level.patch_match(features, nearest, rng)
            level.image = current  # on sources it is the photo itself: the vote copies real pixels
            current = level.vote(nearest)
        previous = level
    out = current[0].permute(1, 2, 0).numpy()
    return np.where(hole[..., None], out, rgb).astype(np.float32)
