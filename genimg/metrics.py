"""Quality metrics for generators, computed in a classifier's feature space.

No Inception network is available offline, so the Fréchet distance uses the penultimate layer of
the dataset's own classifier (as the "Fréchet LeNet distance" does for MNIST). Its numbers compare
only with each other, which is why the benchmark always prints two references beside them.
BLEU-4 scores the captioner's sentences.
"""
import math
from collections import Counter

import torch
from torch.nn import functional as F


@torch.no_grad()
def features(classifier, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """(N, 1, 28, 28) images in [0, 1] -> (N, D) float64 features."""
    return torch.cat([classifier.features(chunk) for chunk in images.split(batch)]).double()


@torch.no_grad()
def predictions(classifier, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([classifier(chunk).argmax(1) for chunk in images.split(batch)])


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^1/2) between Gaussians fitted to two feature sets.

    tr((S_a S_b)^1/2) is the sum of square roots of the eigenvalues of S_a^1/2 S_b S_a^1/2, which is
    symmetric, so a symmetric eigensolver does it without scipy.
    """
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    sqrt_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    middle = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * middle)


def box_blur(images: torch.Tensor) -> torch.Tensor:
    """3x3 box filter (edges averaged over the pixels inside the image): the mild reference degradation."""
    return F.avg_pool2d(images, 3, stride=1, padding=1, count_include_pad=False)


@torch.no_grad()
def nearest_distances(queries: torch.Tensor, pool: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """RMS pixel distance (0..1 scale) from each query image to its nearest image in the pool."""
    q, p = queries.flatten(1), pool.flatten(1)
    p_sq = p.pow(2).sum(1)
    best = []
    for chunk in q.split(batch):
        d2 = chunk.pow(2).sum(1, keepdim=True) - 2 * chunk @ p.T + p_sq
        best.append(d2.min(1).values.clamp(min=0))
    return (torch.cat(best) / q.shape[1]).sqrt()


def bleu4(candidates: list, references: list) -> float:
    """Corpus BLEU-4 (Papineni et al. 2002) of candidate sentences against one reference each: the geometric mean
    of the clipped 1- to 4-gram precisions over the whole corpus, times the brevity penalty. Sentences are
    strings of space-separated words."""
    matched, total = [0] * 4, [0] * 4
    length, ref_length = 0, 0
    for candidate, reference in zip(candidates, references):
        c, r = candidate.split(), reference.split()
        length, ref_length = length + len(c), ref_length + len(r)
        for n in range(1, 5):
            c_grams = Counter(tuple(c[i:i + n]) for i in range(len(c) - n + 1))
            r_grams = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            matched[n - 1] += sum(min(k, r_grams[g]) for g, k in c_grams.items())
            total[n - 1] += max(len(c) - n + 1, 0)
    if min(matched) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matched, total)) / 4
    brevity = 1.0 if length > ref_length else math.exp(1 - ref_length / max(length, 1))
    return brevity * math.exp(log_precision)
