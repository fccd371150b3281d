"""Sketch to emoji: image-to-image translation in the manner of pix2pix (Isola et al. 2017).

A U-Net turns a line drawing (64x64, ink on white) into a colour emoji; a PatchGAN discriminator judges
(drawing, emoji) pairs patch by patch, so the generator is pushed to paint sharp, plausible colour where an L1 loss
alone would paint the average of what could be there. The pairs are made from the emoji themselves: their colour
edges, drawn the way a person would draw them (strokes of varied thickness, wobbly, some dropped, a few extra),
so a drawing made by hand in the app reads like the training drawings. An optional category hint (Smileys,
Animals, ...) steers the colours; one pair in two trains without it, so the hint can be left out.

This room: the drawing maker, the two networks, the trainer, the recipe and the family record.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils.parametrizations import spectral_norm

from .. import data as datasets
from ..family import Family, Trainer
from ..training import SAMPLE_SEED, Batches, synthetic_colour, unwrap

SIDE = 64


# ---- line drawings made from pictures -----------------------------------------------------------------------
def edge_strength(images: torch.Tensor) -> torch.Tensor:
    """Thin colour edges of images (N, 3, H, W) in [0, 1]: at each pixel the Sobel gradient of the channel that
    changes most, kept only where it is the largest across the edge (Canny's non-maximum suppression), so an edge
    is one or two pixels wide however soft it is (two for a sharp step: both of its pixels are the largest). Shape (N, 1, H, W); a step from white to black is 1."""
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4
    kernels = torch.stack([sobel, sobel.T])[:, None].to(images)
    n, c, h, w = images.shape
    grad = F.conv2d(F.pad(images.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode="replicate"), kernels)
    grad = grad.reshape(n, c, 2, h, w)
    magnitude = grad.pow(2).sum(2).sqrt()
    strongest = magnitude.argmax(1, keepdim=True)
    magnitude = magnitude.gather(1, strongest)
    gx, gy = (grad[:, :, k].gather(1, strongest) for k in (0, 1))
    # The neighbours across the edge, for gradient directions 0, 45, 90 and 135 degrees.
    direction = ((torch.atan2(gy, gx) % math.pi) / (math.pi / 4)).round().long() % 4
    padded = F.pad(magnitude, (1, 1, 1, 1))
    shifted = {(dy, dx): padded[:, :, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    across = [((0, 1), (0, -1)), ((1, 1), (-1, -1)), ((1, 0), (-1, 0)), ((1, -1), (-1, 1))]
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for k, (a, b) in enumerate(across):
        keep |= (direction == k) & (magnitude >= shifted[a]) & (magnitude >= shifted[b])
    return magnitude * keep


def edges(images: torch.Tensor, threshold: float | torch.Tensor = 0.3) -> torch.Tensor:
    """Colour edges as ink (N, 1, H, W) in [0, 1] (1 = a line): soft over a band around `threshold`, so lines are
    anti-aliased as a drawing shrunk to 64x64 is."""
    return ((edge_strength(images) - threshold) / 0.1 + 0.5).clamp(0, 1)


def smooth_noise(n: int, side: int, cells: int, generator) -> torch.Tensor:
    """Random fields (n, 1, side, side) that vary smoothly over `cells` cells, each with std about 1."""
    coarse = torch.randn(n, 1, cells + 1, cells + 1, generator=generator)
    return F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=True)


def random_strokes(n: int, side: int, generator, most: int = 2) -> torch.Tensor:
    """Up to `most` short straight strokes per image, 1-2 px wide, as ink (n, 1, side, side)."""
    yy, xx = torch.meshgrid(torch.arange(side) + 0.5, torch.arange(side) + 0.5, indexing="ij")
    ink = torch.zeros(n, 1, side, side)
    for i in range(n):
        for _ in range(int(torch.randint(0, most + 1, (1,), generator=generator))):
            start = torch.rand(2, generator=generator) * side
            angle = float(torch.rand(1, generator=generator)) * 2 * math.pi
            length = 4 + float(torch.rand(1, generator=generator)) * side / 4
            end = start + length * torch.tensor([math.cos(angle), math.sin(angle)])
            d = end - start
            s = (((xx - start[0]) * d[0] + (yy - start[1]) * d[1]) / d.pow(2).sum()).clamp(0, 1)
            dist = torch.hypot(xx - start[0] - s * d[0], yy - start[1] - s * d[1])
            width = 0.5 + float(torch.rand(1, generator=generator)) * 0.6
            ink[i, 0] = torch.maximum(ink[i, 0], (width + 0.5 - dist).clamp(0, 1))
    return ink


def line_drawing(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A drawing of each picture as a person might make it: its thin colour edges at a random threshold, 1-3 px
    wide, pushed about by a smooth wobble of up to ~1.5 px, with parts of the strokes dropped and up to two
    strays added. images (N, 3, H, W) in [0, 1] -> ink (N, 1, H, W) in [0, 1]. A fixed generator gives the same
    drawings (the held-out measure); the trainer draws new ones every step."""
    n, _, side, _ = images.shape
    g = generator if generator is not None else torch.Generator().manual_seed(int(torch.randint(0, 2 ** 31, (1,))))
    threshold = 0.2 + 0.2 * torch.rand(n, 1, 1, 1, generator=g)
    ink = edges(images, threshold)
    # Strokes 1 px wide, 2 px (a 2x2 maximum) or 3 px (3x3): what a brush of 4 to 12 px on a 256 px canvas leaves.
    thick = torch.randint(0, 3, (n,), generator=g)[:, None, None, None]
    ink = torch.where(thick == 1, F.max_pool2d(F.pad(ink, (0, 1, 0, 1)), 2, 1), ink)
    ink = torch.where(thick == 2, F.max_pool2d(ink, 3, 1, 1), ink)
    wobble = torch.cat([smooth_noise(n, side, 4, g), smooth_noise(n, side, 4, g)], 1) * (1.0 / side)
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), (n, 1, side, side), align_corners=False)
    ink = F.grid_sample(ink, base + wobble.permute(0, 2, 3, 1), align_corners=False, padding_mode="zeros")
    dropped = smooth_noise(n, side, 6, g) > 1.0 + 0.5 * torch.rand(n, 1, 1, 1, generator=g)  # ~10 % of the page
    ink = ink * (~dropped) + random_strokes(n, side, g)
    return ink.clamp(0, 1)


# ---- the networks ---------------------------------------------------------------------------------------------
def down(c_in, c_out, norm=True):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.GroupNorm(8, c_out) if norm else nn.Identity(),
                         nn.LeakyReLU(0.2))


class Up(nn.Module):
    """Double the size, join the encoder's features of that size (the U-Net's skip), and refine with a 3x3."""

    def __init__(self, c_in, c_skip, c_out):
        super().__init__()
        self.up = nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.GroupNorm(8, c_out), nn.ReLU())
        self.refine = nn.Sequential(nn.Conv2d(c_out + c_skip, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.ReLU())

    def forward(self, x, skip):
        return self.refine(torch.cat([self.up(x), skip], 1))


class SketchUNet(nn.Module):
    """Ink (N, 1, 64, 64) in [0, 1] and an optional category -> colour image (N, 3, 64, 64) in [0, 1].
    64 -> 32 -> 16 -> 8 -> 4 and back with skips; the category (index num_classes = none) shifts the 4x4 code."""

    def __init__(self, width: int = 32, num_classes: int = 9, side: int = SIDE):
        super().__init__()
        self.config = {"width": width, "num_classes": num_classes, "side": side}
        self.num_classes, self.side = num_classes, side
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 4 * width
        self.d1, self.d2, self.d3, self.d4 = down(1, c1, norm=False), down(c1, c2), down(c2, c3), down(c3, c4)
        self.category = nn.Embedding(num_classes + 1, c4)
        nn.init.zeros_(self.category.weight)
        self.mid = nn.Sequential(nn.Conv2d(c4, c4, 3, padding=1), nn.GroupNorm(8, c4), nn.ReLU())
        self.u3, self.u2, self.u1 = Up(c4, c3, c3), Up(c3, c2, c2), Up(c2, c1, c1)
        self.head = nn.Sequential(nn.ConvTranspose2d(c1, c1, 4, 2, 1), nn.ReLU(), nn.Conv2d(c1, 3, 3, padding=1))

    def forward(self, ink, labels=None):
        if labels is None:
            labels = torch.full((len(ink),), self.num_classes, dtype=torch.long, device=ink.device)
        h1 = self.d1(ink * 2 - 1)
        h2 = self.d2(h1)
        h3 = self.d3(h2)
        h = self.d4(h3) + self.category(labels)[:, :, None, None]
        h = self.u1(self.u2(self.u3(self.mid(h), h3), h2), h1)
        return (torch.tanh(self.head(h)) + 1) / 2


class PatchDiscriminator(nn.Module):
    """(ink, image) -> an 8x8 grid of realness scores, each seeing a 34x34 patch (pix2pix's PatchGAN, shrunk to
    64x64 pictures); spectral norm on every layer, for the hinge loss."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            spectral_norm(nn.Conv2d(4, width, 4, 2, 1)), nn.LeakyReLU(0.2),                  # 32
            spectral_norm(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),          # 16
            spectral_norm(nn.Conv2d(2 * width, 4 * width, 4, 2, 1)), nn.LeakyReLU(0.2),      # 8
            spectral_norm(nn.Conv2d(4 * width, 4 * width, 3, 1, 1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(4 * width, 1, 3, 1, 1)))

    def forward(self, ink, image):
        return self.net(torch.cat([ink * 2 - 1, image * 2 - 1], 1))


# ---- training ---------------------------------------------------------------------------------------------------
def emoji_batches(recipe, family, dataset, data, dry_run, seed, rank, world):
    """64x64 colour emoji by category (or, for --dry-run, coloured discs and squares made on the spot)."""
    data_set = synthetic_colour(recipe["side"]) if dry_run else datasets.load_emoji(data, side=recipe["side"])
    return data_set, Batches(data_set.train_images, data_set.train_labels, recipe["batch_size"], seed, rank, world)


class Pix2PixTrainer(Trainer):
    """L1 to the real emoji (weight l1_weight) plus the hinge GAN loss of the PatchGAN; new drawings every step;
    the category hint dropped half the time."""

    sample_count, sample_columns = 24, 8

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        config = {"num_classes": len(data_set.classes), "side": recipe["side"], **recipe.get("config", {})}
        self.model = family.build(config).to(device)
        self.discriminator = PatchDiscriminator(recipe["disc_width"]).to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.disc = DistributedDataParallel(self.discriminator) if world > 1 else self.discriminator
        self.optimizers = {name: torch.optim.Adam(module.parameters(), recipe["lr"], betas=(0.5, 0.999))
                           for name, module in (("g", self.model), ("d", self.discriminator))}
        self.modules = {"model": self.model, "discriminator": self.discriminator}
        test = datasets.to_float(data_set.test_images[:8])
        self.shown = (test, line_drawing(test, torch.Generator().manual_seed(SAMPLE_SEED)))

    load_data = staticmethod(emoji_batches)

    def step(self, x, labels, autocast):
        x, labels = x.to(self.device), labels.to(self.device)
        ink = line_drawing(x.cpu()).to(self.device)
        hidden = torch.rand(len(labels), device=self.device) < self.recipe["hint_dropout"]
        labels = torch.where(hidden, torch.full_like(labels, unwrap(self.model).num_classes), labels)
        with autocast:
            fake = self.net(ink, labels)
            d_loss = (F.relu(1 - self.disc(ink, x)).mean() + F.relu(1 + self.disc(ink, fake.detach())).mean())
        self.optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["d"].step()
        with autocast:
            adversarial = -self.disc(ink, fake).mean()
            l1 = (fake.float() - x).abs().mean()
            g_loss = self.recipe["l1_weight"] * l1 + adversarial
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizers["g"].step()
        return {"l1": l1.item(), "g_adv": adversarial.item(), "d": d_loss.item()}

    @torch.no_grad()
    def samples(self):
        """Eight held-out emoji: a row of their drawings, a row of translations (no hint), a row of the real ones."""
        real, ink = self.shown
        model = unwrap(self.model).eval()
        out = model(ink.to(self.device)).cpu()
        model.train()
        return torch.cat([(1 - ink).expand(-1, 3, -1, -1), out, real])

    @torch.no_grad()
    def evaluate(self, data_set):
        """L1 and PSNR of the translations of held-out emoji's drawings (fixed drawings, no hint)."""
        n = 64 if self.recipe.get("dry_run") else len(data_set.test_images)
        real = datasets.to_float(data_set.test_images[:n])
        ink = line_drawing(real, torch.Generator().manual_seed(SAMPLE_SEED))
        model = unwrap(self.model).eval()
        out = torch.cat([model(i.to(self.device)).cpu() for i in ink.split(128)])
        mse = (out - real).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        return {"test_l1": round((out - real).abs().mean().item(), 4),
                "test_psnr": round((10 * torch.log10(1 / mse)).mean().item(), 2)}


RECIPES = {
    "pix2pix": dict(family="pix2pix", dataset="emoji", steps=10000, batch_size=16, lr=2e-4, disc_width=32,
                    l1_weight=100.0, hint_dropout=0.5, side=SIDE),
}

FAMILIES = [
    Family("pix2pix", "translator", SketchUNet, {"width": 32, "num_classes": 9, "side": SIDE}, Pix2PixTrainer,
           label="Sketch to emoji (pix2pix)",
           description="pix2pix: a U-Net paints a colour emoji from a line drawing, trained with L1 and a PatchGAN"),
]
