"""A Glow-style normalizing flow (Dinh et al. 2017, RealNVP; Kingma & Dhariwal 2018, Glow) for 28x28 images.

A flow is an invertible network f from images to codes of the same size, with a log-determinant that is cheap to
compute, so the exact likelihood of any image follows from the change of variables:
    log p(x) = log N(f(x); 0, I) + log |det df/dx|.
Training maximises it; sampling runs f backwards from Gaussian codes.

Multi-scale architecture: squeeze 28x28x1 -> 14x14x4, K flow steps, factor out half the channels (their prior is
a Gaussian whose mean and scale are predicted from the other half), squeeze -> 7x7x8, K steps, Gaussian prior.
A flow step is actnorm, an invertible 1x1 convolution and an affine coupling layer. Images are dequantized with
uniform noise and passed through the logit transform, and bits per dimension count both Jacobians, as the papers
do, so the numbers compare with theirs.

This room: the network, its trainer, its recipe and its family record.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from ..family import Family, Trainer
from ..training import SAMPLE_SEED, digit_batches

LOGIT_ALPHA = 0.05  # the logit transform squeezes [0, 1] into [alpha, 1 - alpha] first (RealNVP)
PIXELS = 28 * 28


def squeeze(x):
    """(N, C, H, W) -> (N, 4C, H/2, W/2): each 2x2 block of pixels becomes four channels."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x):
    n, c, h, w = x.shape
    return x.view(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c // 4, 2 * h, 2 * w)


class ActNorm(nn.Module):
    """A per-channel scale and shift, set on the first batch so that its output has zero mean and unit variance."""

    def __init__(self, channels: int):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0.0))

    def forward(self, x):
        if not self.initialized:
            with torch.no_grad():
                self.shift.copy_(-x.mean(dim=(0, 2, 3), keepdim=True))
                self.log_scale.copy_(-x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3).log())
                self.initialized.fill_(1.0)
        y = (x + self.shift) * self.log_scale.exp()
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return y * (-self.log_scale).exp() - self.shift


class InvertibleConv1x1(nn.Module):
    """A learned mixing of the channels (a generalised permutation), starting as a random rotation."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.linalg.qr(torch.randn(channels, channels))[0])

    def forward(self, x):
        logdet = torch.linalg.slogdet(self.weight)[1] * x.shape[2] * x.shape[3]
        return F.conv2d(x, self.weight[:, :, None, None]), logdet

    def inverse(self, y):
        return F.conv2d(y, torch.linalg.inv(self.weight)[:, :, None, None])


class AffineCoupling(nn.Module):
    """Half the channels pass unchanged and predict a scale and shift for the other half: trivially invertible,
    with a triangular Jacobian whose log-determinant is the sum of the log scales."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels // 2, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, channels, 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)  # starts as the identity map
        nn.init.zeros_(self.net[-1].bias)

    def scale_shift(self, kept):
        raw_scale, shift = self.net(kept).chunk(2, dim=1)
        return torch.sigmoid(raw_scale + 2.0), shift  # scale in (0, 1), near 0.88 at the start (Glow)

    def forward(self, x):
        kept, changed = x.chunk(2, dim=1)
        scale, shift = self.scale_shift(kept)
        return torch.cat([kept, (changed + shift) * scale], dim=1), scale.log().flatten(1).sum(1)

    def inverse(self, y):
        kept, changed = y.chunk(2, dim=1)
        scale, shift = self.scale_shift(kept)
        return torch.cat([kept, changed / scale - shift], dim=1)


class FlowStep(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.layers = nn.ModuleList([ActNorm(channels), InvertibleConv1x1(channels), AffineCoupling(channels, hidden)])

    def forward(self, x):
        total = 0.0
        for layer in self.layers:
            x, logdet = layer(x)
            total = total + logdet
        return x, total

    def inverse(self, y):
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


class SplitPrior(nn.Module):
    """The prior of the factored-out half: a Gaussian whose mean and log scale a convolution reads from the kept
    half (Glow's "learned prior"), which captures what the two halves share."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels // 2, channels, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, kept):
        mean, log_scale = self.conv(kept).chunk(2, dim=1)
        return mean, log_scale


def gaussian_log_density(z, mean, log_scale):
    return (-0.5 * ((z - mean) * (-log_scale).exp()) ** 2 - log_scale - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


class Glow(nn.Module):
    """Images in [0, 1] (dequantized) <-> Gaussian codes, shape (N, 784), with exact log-likelihoods."""

    def __init__(self, steps_per_level: int = 16, hidden: int = 128):
        super().__init__()
        self.z_dim, self.num_classes = PIXELS, 0
        self.config = {"steps_per_level": steps_per_level, "hidden": hidden}
        self.level1 = nn.ModuleList([FlowStep(4, hidden) for _ in range(steps_per_level)])
        self.split = SplitPrior(4)
        self.level2 = nn.ModuleList([FlowStep(8, hidden) for _ in range(steps_per_level)])

    @staticmethod
    def to_logit(x):
        """[0, 1] -> logit space, and the log-determinant of that map per image."""
        y = LOGIT_ALPHA + (1 - 2 * LOGIT_ALPHA) * x
        logit = y.log() - (1 - y).log()
        logdet = (math.log(1 - 2 * LOGIT_ALPHA) - y.log() - (1 - y).log()).flatten(1).sum(1)
        return logit, logdet

    def forward(self, x):
        """Dequantized images in [0, 1], (N, 1, 28, 28) -> (log p(x) in nats per image, standardised codes (N, 784)).

        The codes are the noise that `sample` turns back into x: for the factored-out half, (z - mean) / scale."""
        h, logdet = self.to_logit(x)
        h = squeeze(h)
        for step in self.level1:
            h, ld = step(h)
            logdet = logdet + ld
        h, z1 = h.chunk(2, dim=1)
        mean, log_scale = self.split(h)
        log_p = gaussian_log_density(z1, mean, log_scale)
        eps1 = (z1 - mean) * (-log_scale).exp()
        h = squeeze(h)
        for step in self.level2:
            h, ld = step(h)
            logdet = logdet + ld
        log_p = log_p + gaussian_log_density(h, torch.zeros_like(h), torch.zeros_like(h))
        return log_p + logdet, torch.cat([eps1.flatten(1), h.flatten(1)], dim=1)

    def bits_per_dim(self, images_uint8: torch.Tensor, generator=None) -> torch.Tensor:
        """(N, 28, 28) byte images -> bits per dimension of each (one draw of dequantization noise)."""
        device = next(self.parameters()).device
        return bits_per_dim(self(dequantize(images_uint8, generator).to(device))[0]).cpu()

    def sample(self, z, labels=None):
        """Standardised codes (N, 784) -> images in [0, 1] (scale the codes for a temperature). Differentiable:
        the inpainting search follows its gradient with respect to z."""
        n = z.shape[0]
        eps1, h = z[:, :PIXELS // 2].view(n, 2, 14, 14), z[:, PIXELS // 2:].view(n, 8, 7, 7)
        for step in reversed(self.level2):
            h = step.inverse(h)
        h = unsqueeze(h)
        mean, log_scale = self.split(h)
        h = torch.cat([h, mean + eps1 * log_scale.exp()], dim=1)
        for step in reversed(self.level1):
            h = step.inverse(h)
        y = torch.sigmoid(unsqueeze(h))
        return ((y - LOGIT_ALPHA) / (1 - 2 * LOGIT_ALPHA)).clamp(0, 1)


def dequantize(images_uint8: torch.Tensor, generator=None) -> torch.Tensor:
    """(N, 28, 28) bytes -> (N, 1, 28, 28) in [0, 1]: each pixel spread uniformly over its 1/256 bin."""
    x = images_uint8.unsqueeze(1).float()
    return (x + torch.rand(x.shape, generator=generator)) / 256


def bits_per_dim(log_p: torch.Tensor) -> torch.Tensor:
    """Nats per image of the continuous density on [0, 1]^784 -> bits per pixel of the 256-level image."""
    return (-log_p / PIXELS + math.log(256)) / math.log(2)


class FlowTrainer(Trainer):
    """Maximum likelihood on dequantized batches (the loss is bits/dim, which is what the bench reports)."""

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        self.model = family.build().to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), recipe["lr"])}
        self.modules = {"model": self.model}

    @staticmethod
    def load_data(recipe, family, dataset, data, dry_run, seed, rank, world):
        return digit_batches(recipe, family, dataset, data, dry_run, seed, rank, world)

    def step(self, x, labels, autocast):
        # The batches are floats in [0, 1] at multiples of 1/255: back to bytes, then uniform dequantization.
        x = dequantize((x.squeeze(1) * 255).round().to(torch.uint8)).to(self.device)
        loss = bits_per_dim(self.net(x)[0]).mean()
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 50.0)
        opt.step()
        return {"bits_per_dim": loss.item()}

    @torch.no_grad()
    def samples(self):
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        self.model.eval()
        images = self.model.sample(0.7 * torch.randn(self.sample_count, PIXELS, generator=g).to(self.device))
        self.model.train()
        return images

    @torch.no_grad()
    def evaluate(self, data_set):
        return {"test_bits_per_dim": round(test_bits_per_dim(self.model.eval(), data_set.test_images), 4)}


@torch.no_grad()
def test_bits_per_dim(model: Glow, images_uint8: torch.Tensor, batch: int = 500) -> float:
    """The mean bits/dim of a set of 28x28 byte images, with one fixed draw of dequantization noise."""
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    return torch.cat([model.bits_per_dim(chunk, g) for chunk in images_uint8.split(batch)]).mean().item()


RECIPES = {
    "flow": dict(family="flow", steps=4000, batch_size=64, lr=1e-3),
}

FAMILIES = [
    Family("flow", "generator", Glow, {"steps_per_level": 16, "hidden": 128}, FlowTrainer, label="Normalizing flow",
           latent_knob="temperature", default_temperature=0.7,  # Glow's samples are drawn at 0.7 too
           description="Glow-style normalizing flow: invertible, so it gives the exact likelihood of any image"),
]
