"""The normalizing flows' exact likelihood: bits per dimension on each test set, and "what does likelihood know?":
the test images of the other dataset scored by the same flow (Nalisnick et al. 2019 found that flows trained on
Fashion-MNIST give MNIST digits *higher* likelihood than the garments they were trained on).

Beside them, the VAEs' negative evidence lower bound in bits/dim: an upper bound on their -log p, under a Bernoulli
pixel model, so it is not on the same scale as the flows' 256-level bits/dim; shown to compare the VAEs with
themselves."""
import math

import torch

from .. import api, checkpoints, data as datasets, registry
from ..api.likelihood import DEQUANTIZATION_SEED
from .common import write_results

BINS = 40
QUANTILES = 100  # the card keeps 101 quantiles of the test set's bits/dim, to place a user's image among them


@torch.no_grad()
def dataset_bits(model, images_uint8, batch=500):
    g = torch.Generator().manual_seed(DEQUANTIZATION_SEED)
    net = model.net()
    return torch.cat([net.bits_per_dim(chunk, g) for chunk in images_uint8.split(batch)])


def likelihood(data=None, update_cards=False, out=None):
    tests = {dataset: datasets.load(dataset, data).test_images for dataset in datasets.DATASETS}
    results = {}
    for name in api.likelihood_models():
        try:
            model = api.load(name)
        except ValueError as error:
            print(f"{name}: unavailable ({error})")
            continue
        own = dataset_bits(model, tests[model.dataset])
        (other_name, other_images), = [(d, im) for d, im in tests.items() if d != model.dataset]
        other = dataset_bits(model, other_images)
        low = float(min(own.quantile(0.001), other.quantile(0.001)))
        high = float(max(own.quantile(0.999), other.quantile(0.999)))
        edges = torch.linspace(low, high, BINS + 1)
        row = {
            "test_bits_per_dim": round(float(own.mean()), 4),
            "other_dataset": other_name,
            "other_test_bits_per_dim": round(float(other.mean()), 4),
            "other_more_likely_share": round(float((other < own.median()).float().mean()), 4),
            "test_bpd_quantiles": [round(float(q), 4) for q in own.quantile(torch.linspace(0, 1, QUANTILES + 1))],
            "histogram": {"edges": [round(float(e), 4) for e in edges],
                          "own": torch.histc(own.clamp(low, high), BINS, low, high).int().tolist(),
                          "other": torch.histc(other.clamp(low, high), BINS, low, high).int().tolist()},
            "n_images": len(own), "command": "python -m genimg.bench likelihood --update-cards",
        }
        results[name] = row
        print(f"{name}: {row['test_bits_per_dim']:.3f} bits/dim on {model.dataset} test; "
              f"{row['other_test_bits_per_dim']:.3f} on {other_name} test "
              f"({row['other_more_likely_share']:.1%} of {other_name} images more likely than the median "
              f"{model.dataset} image)")
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), name, "likelihood", row)
    for name in registry.releases("generator"):
        try:
            elbo = api.load(name).card.get("metrics", {}).get("test_neg_elbo_nats")
        except ValueError:
            continue
        if elbo is not None:
            bits = elbo / (28 * 28) / math.log(2)
            results[name] = {"neg_elbo_bits_per_dim_bernoulli": round(bits, 4)}
            print(f"{name}: negative ELBO {bits:.3f} bits/dim (Bernoulli pixels: a bound on another scale)")
            if update_cards:
                checkpoints.record_metrics(api.checkpoint_dir(), name, "neg_elbo_bits_per_dim_bernoulli",
                                           round(bits, 4))
    write_results(out, results)
    return results
