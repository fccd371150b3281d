"""Flow matching (rectified flow; Lipman et al. 2023, Liu et al. 2023) with a small class-conditional U-Net.

Training draws a noise image x0 ~ N(0, I), a data image x1 and a time t, and teaches the network the velocity
v = x1 - x0 of the straight path x_t = (1 - t) x0 + t x1. Sampling integrates dx/dt = v(x, t) from noise (t=0)
to an image (t=1) with Euler or Heun steps. At any step the current guess of the final image is
x_t + (1 - t) v: where the straight line from here would end. One image in ten is trained without its class (the
"null" class), so sampling can use classifier-free guidance (Ho & Salimans 2022): v_uncond + w (v_cond - v_uncond).

This room: the U-Net, the sampler, the trainer, the recipe and the family record.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from .. import data as datasets
from ..family import Family, Trainer
from ..training import SAMPLE_SEED, digit_batches, network_shape, unwrap

SAMPLERS = ("euler", "heun")


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t in [0, 1] (as the Transformer's positions), shape (N, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
    angles = 1000 * t[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions; the time-and-class embedding scales and shifts the features between them (FiLM)."""

    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(emb, 2 * c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: deep U-Nets train from step one
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        return self.skip(x) + h


class Attention(nn.Module):
    """Self-attention over the 7x7 positions: lets the coarsest level relate distant strokes."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(8, channels)
        self.qkv, self.out = nn.Conv2d(channels, 3 * channels, 1), nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w).unbind(1)
        y = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(y.transpose(-1, -2).reshape(n, c, h, w))


class FlowUNet(nn.Module):
    """(x_t, t, class) -> velocity, for 1x28x28 images in [-1, 1]: 28 -> 14 -> 7 and back, with skips (the training
    lab's: 28 or 32 px, grey or colour, and num_classes=0 for no classes).

    The latent code of an image is its starting noise, flattened (z_dim = 784): `sample` integrates the ODE from
    it, so the same code and settings always give the same image, and codes can be interpolated like a GAN's."""

    def __init__(self, width: int = 16, num_classes: int = 10, emb: int = 128, channels: int = 1, side: int = 28):
        super().__init__()
        self.num_classes, self.image_shape, self.z_dim = num_classes, (channels, side, side), channels * side ** 2
        self.config = {"width": width, "num_classes": num_classes, "emb": emb, "channels": channels, "side": side}
        c1, c2, c3 = width, 2 * width, 4 * width
        self.emb_dim = emb
        self.time_mlp = nn.Sequential(nn.Linear(emb, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.class_emb = nn.Embedding(num_classes + 1, emb)  # index num_classes: no class (for guidance)
        self.stem = nn.Conv2d(channels, c1, 3, padding=1)
        self.down1, self.pool1 = ResBlock(c1, c1, emb), nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.down2, self.pool2 = ResBlock(c2, c2, emb), nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.mid1, self.attn, self.mid2 = ResBlock(c3, c3, emb), Attention(c3), ResBlock(c3, c3, emb)
        self.unpool2, self.up2 = nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1), ResBlock(2 * c2, c2, emb)
        self.unpool1, self.up1 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), ResBlock(2 * c1, c1, emb)
        self.head = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, channels, 3, padding=1))

    def embed(self, t, labels):
        """labels: class indices (N,) where num_classes means "no class", or class weights (N, num_classes)."""
        if labels is None:
            labels = torch.full((t.shape[0],), self.num_classes, dtype=torch.long, device=t.device)
        if labels.dtype.is_floating_point:
            c = labels @ self.class_emb.weight[:self.num_classes]
        else:
            c = self.class_emb(labels)
        return self.time_mlp(time_embedding(t, self.emb_dim)) + c

    def null_condition(self, labels):
        """"No class", in the form of `labels`: index num_classes, or all-zero class weights."""
        if labels.dtype.is_floating_point:
            return torch.zeros_like(labels)
        return torch.full_like(labels, self.num_classes)

    def forward(self, x, t, labels=None):
        emb = self.embed(t, labels)
        h1 = self.down1(self.stem(x), emb)
        h2 = self.down2(self.pool1(h1), emb)
        h = self.mid2(self.attn(self.mid1(self.pool2(h2), emb)), emb)
        h = self.up2(torch.cat([self.unpool2(h), h2], dim=1), emb)
        h = self.up1(torch.cat([self.unpool1(h), h1], dim=1), emb)
        return self.head(h)

    def velocity(self, x, t, labels, guidance: float):
        """The guided velocity: v_uncond + guidance (v_cond - v_uncond); guidance 1 is the plain conditional model,
        0 the unconditional one. Both halves go through the network as one batch."""
        t = torch.full((x.shape[0],), float(t), device=x.device)
        if labels is None or guidance == 1.0:
            return self(x, t, labels)
        if guidance == 0.0:
            return self(x, t, None)
        null = self.null_condition(labels)
        v_cond, v_uncond = self(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null])).chunk(2)
        return v_uncond + guidance * (v_cond - v_uncond)

    @torch.no_grad()
    def trajectory(self, z, labels=None, steps: int = 20, guidance: float = 2.0, sampler: str = "euler"):
        """Integrate from the noise z (N, 784) to images. Yields (t, x_t, guess of the final image) before each
        step and once at t=1; images in [-1, 1], shape (N, *image_shape)."""
        x = z.view(-1, *self.image_shape)
        times = torch.linspace(0, 1, steps + 1).tolist()
        for t, t_next in zip(times[:-1], times[1:]):
            v = self.velocity(x, t, labels, guidance)
            yield t, x, x + (1 - t) * v
            if sampler == "heun" and t_next < 1:  # the trapezoid rule: average this slope and the next one's
                x_euler = x + (t_next - t) * v
                v = 0.5 * (v + self.velocity(x_euler, t_next, labels, guidance))
            x = x + (t_next - t) * v
        yield 1.0, x, x

    @torch.no_grad()
    def sample(self, z, labels=None, steps: int = 20, guidance: float = 2.0, sampler: str = "euler"):
        """Latent codes (starting noise) -> images in [0, 1]."""
        *_, (_, x, _) = self.trajectory(z, labels, steps, guidance, sampler)
        return ((x + 1) / 2).clamp(0, 1)


    @torch.no_grad()
    def inpaint(self, known, hole, z, steps: int = 50, jumps: int = 3, generator=None):
        """Fill `hole` (N, 1, 28, 28 bool) of `known` (images in [0, 1]) in the manner of RePaint (Lugmayr et al.
        2022), with the unconditional velocity: at each time t the known pixels are replaced by the known image
        moved to t along its own straight path from the noise z, so the fill is steered to agree with them; each
        step is taken `jumps` times, going back to t with fresh noise in between, which lets the fill and the
        known pixels settle on each other. Returns images in [0, 1]."""
        x1 = known * 2 - 1
        noise = z.view(-1, *self.image_shape)
        x = noise.clone()
        times = torch.linspace(0, 1, steps + 1).tolist()
        for t, t_next in zip(times[:-1], times[1:]):
            for jump in range(jumps):
                x = torch.where(hole, x, (1 - t) * noise + t * x1)
                x = x + (t_next - t) * self.velocity(x, t, None, 1.0)
                if jump < jumps - 1 and t > 0:  # back from t_next to t: x_t = (t/t_next) x_next + c * fresh noise
                    keep = t / t_next
                    spread = max((1 - t) ** 2 - (keep * (1 - t_next)) ** 2, 0.0) ** 0.5
                    fresh = torch.randn(x.shape, generator=generator).to(x.device)
                    x = keep * x + spread * fresh
        x = torch.where(hole, x, x1)
        return ((x + 1) / 2).clamp(0, 1)


class FlowMatchingTrainer(Trainer):
    """Rectified-flow loss with logit-normal times, 10 % of labels dropped for guidance, EMA of the weights."""

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        self.model = self.build_model(data_set).to(device)
        self.ema = family.build(self.model.config).to(device).eval().requires_grad_(False)
        self.ema.load_state_dict(self.model.state_dict())
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.conditional = self.model.config.get("num_classes") != 0  # classes or sentences; the lab's have neither
        self.sample_count, self.sample_columns = self.grid_shape()
        self.optimizers = {"opt": torch.optim.AdamW(self.model.parameters(), recipe["lr"], weight_decay=0.0)}
        self.modules = {"model": self.model, "ema": self.ema}

    load_data = staticmethod(digit_batches)

    def build_model(self, data_set):
        """The network to train, untrained: the family's shipped configuration, shaped to the data set (28x28 grey
        digits, 32x32 colour emoji, their classes), the recipe's width for it, and the recipe's `config` on top
        (the training lab's)."""
        shaped = network_shape(data_set, self.family)
        if "width" in self.recipe:
            shaped["width"] = self.recipe["width"]
        return self.family.build({**shaped, **self.recipe.get("config", {})})

    def step(self, x, labels, autocast):
        x1 = x.to(self.device) * 2 - 1
        labels = self.drop_condition(labels.to(self.device)) if self.conditional else None
        x0 = torch.randn_like(x1)
        # Logit-normal times (Esser et al. 2024) spend the training on the middle of the path, where the
        # velocity is hardest to guess; the ends are nearly pure noise or nearly the image.
        t = torch.sigmoid(torch.randn(len(x1), device=self.device))
        xt = (1 - t[:, None, None, None]) * x0 + t[:, None, None, None] * x1
        with autocast:
            loss = F.mse_loss(self.net(xt, t, labels).float(), x1 - x0)
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        opt.step()
        self.update_ema()
        return {"loss": loss.item()}

    def grid_shape(self):
        """(images, columns) of the progress grid: a column per class (8 x 8 without classes)."""
        return (8 * self.model.num_classes, self.model.num_classes) if self.model.num_classes else (64, 8)

    def drop_condition(self, labels):
        """Some conditions replaced by "no condition", so the model also learns the unconditional velocity."""
        dropped = torch.rand(len(labels), device=labels.device) < self.recipe["label_dropout"]
        dropped = dropped.view(-1, *[1] * (labels.ndim - 1))  # class indices (N,) or word ids (N, words)
        return torch.where(dropped, self.model.null_condition(labels), labels)

    @torch.no_grad()
    def update_ema(self):
        # Warm-up of the decay (as in Karras et al.): early on the average follows the fast-moving weights.
        decay = min(self.recipe["ema_decay"], (1 + self.current_step) / (10 + self.current_step))
        for ema_p, p in zip(self.ema.parameters(), unwrap(self.model).parameters()):
            ema_p.lerp_(p.detach(), 1 - decay)

    @torch.no_grad()
    def samples(self):
        n = self.sample_count
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        z = torch.randn(n, self.ema.z_dim, generator=g).to(self.device)
        labels = (torch.arange(n) % self.ema.num_classes).to(self.device) if self.ema.num_classes else None
        # A dry run checks the plumbing, not the pictures; the lab draws often, so it takes fewer steps.
        steps = 2 if self.recipe.get("dry_run") else self.recipe.get("sample_steps", 20)
        return self.ema.sample(z, labels, steps=steps, guidance=self.recipe["guidance"])

    def export(self, quick=False):
        return self.ema.eval()

    @torch.no_grad()
    def evaluate(self, data_set):
        """The flow-matching loss of the exported (EMA) model on 2,000 test images at fixed noise and times."""
        x1 = datasets.to_float(data_set.test_images[:2000]) * 2 - 1
        labels = data_set.test_labels[:2000].long()
        if not self.conditional:
            labels = torch.zeros_like(labels)  # index num_classes = 0: no class
        return {"test_flow_matching_loss": self.test_loss(x1, labels, batch=500)}

    @torch.no_grad()
    def test_loss(self, x1, conditions, batch):
        """The EMA model's mean squared velocity error on images x1 in [-1, 1] under their conditions, at noise and
        times fixed by SAMPLE_SEED (so runs compare)."""
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        x0 = torch.randn(x1.shape, generator=g)
        t = torch.sigmoid(torch.randn(len(x1), generator=g))
        xt = (1 - t[:, None, None, None]) * x0 + t[:, None, None, None] * x1
        losses = [F.mse_loss(self.ema(a.to(self.device), b.to(self.device), c.to(self.device)), d.to(self.device),
                             reduction="sum").item()
                  for a, b, c, d in zip(xt.split(batch), t.split(batch), conditions.split(batch),
                                        (x1 - x0).split(batch))]
        return round(sum(losses) / x1.numel(), 4)


# guidance: the scale the progress grids and the app's default use. width and batch_size, per dataset: colour
# emoji need more features than grey digits, and more steps of smaller batches in an hour (docs/history.md).
RECIPES = {
    "flowmatch": dict(family="flowmatch", steps=4000, batch_size={"mnist": 128, "fashion-mnist": 128, "emoji": 64}, lr=1e-3, ema_decay=0.999,
                      label_dropout=0.1, guidance=2.0, width={"mnist": 16, "fashion-mnist": 16, "emoji": 32}),
}

FAMILIES = [
    Family("flowmatch", "conditional-generator", FlowUNet, {"width": 16, "num_classes": 10, "emb": 128, "channels": 1, "side": 28},
           FlowMatchingTrainer, label="Flow matching", ode_sampler=True,
           description="Flow matching (rectified flow): a class-conditional U-Net turns noise into an image in a "
                       "few ODE steps, with classifier-free guidance"),
]
