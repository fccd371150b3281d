"""DCGAN and its class-conditional variant for 28x28 grayscale images (and, in the training lab, 28 or 32 px in
grey or colour).

One family, two configurations: `num_classes=0` is the plain DCGAN (Radford et al. 2016);
`num_classes>0` adds class-conditional batch norm in the generator and a projection
discriminator (Miyato & Koyama 2018) with an auxiliary classifier head (Odena et al. 2017). The discriminator uses spectral normalisation and the
trainer below the hinge loss, the usual recipe for stable GAN training on small images.

This room: the networks, their trainer (GANTrainer), the recipes train.py runs and the two family records.
"""
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils.parametrizations import spectral_norm

from ..family import Family, Trainer
from ..training import SAMPLE_SEED, digit_batches, network_shape, unwrap


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (plain affine BN when num_classes=0)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(channels, affine=num_classes == 0)
        if num_classes:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x, labels=None):
        """labels: class indices (N,), or class weights (N, num_classes) to mix classes (used to morph between them)."""
        x = self.bn(x)
        if self.num_classes:
            if labels.dtype.is_floating_point:
                gain, bias = labels @ self.gain.weight, labels @ self.bias.weight
            else:
                gain, bias = self.gain(labels), self.bias(labels)
            x = x * gain[:, :, None, None] + bias[:, :, None, None]
        return x


class Generator(nn.Module):
    """z (and a label) -> channels x side x side image in [-1, 1]: side/4 -> side/2 -> side with transposed
    convolutions (7 -> 14 -> 28 for the data sets)."""

    def __init__(self, z_dim: int = 64, width: int = 32, num_classes: int = 0, channels: int = 1, side: int = 28):
        super().__init__()
        self.z_dim, self.num_classes, self.start = z_dim, num_classes, side // 4
        self.config = {"z_dim": z_dim, "width": width, "num_classes": num_classes, "channels": channels,
                       "side": side}
        c4, c2, c1 = 4 * width, 2 * width, width
        self.project = nn.Linear(z_dim, c4 * self.start ** 2, bias=False)
        self.bn0 = ConditionalBatchNorm2d(c4, num_classes)
        self.up1 = nn.ConvTranspose2d(c4, c2, 4, stride=2, padding=1, bias=False)
        self.bn1 = ConditionalBatchNorm2d(c2, num_classes)
        self.up2 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1, bias=False)
        self.bn2 = ConditionalBatchNorm2d(c1, num_classes)
        self.to_image = nn.Conv2d(c1, channels, 3, padding=1)

    def forward(self, z, labels=None):
        x = self.project(z).view(z.shape[0], -1, self.start, self.start)
        x = torch.relu(self.bn0(x, labels))
        x = torch.relu(self.bn1(self.up1(x), labels))
        x = torch.relu(self.bn2(self.up2(x), labels))
        return torch.tanh(self.to_image(x))

    def sample(self, z, labels=None):
        """Latent codes (and labels or class weights) -> images in [0, 1]: what every generator offers the API."""
        return (self(z, labels if self.num_classes else None) + 1) / 2


class Discriminator(nn.Module):
    """channels x side x side image (and a label) -> realness score; spectral norm on every layer unless turned off
    (the training lab lets a class see what it prevents)."""

    def __init__(self, width: int = 32, num_classes: int = 0, channels: int = 1, spectral: bool = True):
        super().__init__()
        self.num_classes = num_classes
        act = nn.LeakyReLU(0.2)
        norm = spectral_norm if spectral else (lambda layer: layer)
        self.features = nn.Sequential(
            norm(nn.Conv2d(channels, width, 4, stride=2, padding=1)), act,              # 14x14
            norm(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)), act,             # 7x7
            norm(nn.Conv2d(2 * width, 4 * width, 3, padding=1)), act,
        )
        self.score = norm(nn.Linear(4 * width, 1))
        if num_classes:
            # Projection discriminator: score += <embed(label), features>.
            self.embed = spectral_norm(nn.Embedding(num_classes, 4 * width))
            # Auxiliary classifier (AC-GAN): learns the classes on real images; the generator is then also
            # rewarded when its image is recognised as the class it was asked for. Projection alone left
            # look-alike classes (shirt, pullover, coat) mixed.
            self.classify = nn.Linear(4 * width, num_classes)

    def forward(self, x, labels=None, with_class_logits=False):
        h = self.features(x).sum(dim=(2, 3))  # global sum pooling
        out = self.score(h).squeeze(1)
        if self.num_classes:
            out = out + (self.embed(labels) * h).sum(1)
            if with_class_logits:
                return out, self.classify(h)
        return out



# The losses a recipe (or the training lab) can choose. Hinge is what the shipped models use. "non-saturating" is
# Goodfellow et al.'s practical loss; "minimax" is their original game, whose generator gets almost no gradient
# while the discriminator easily rejects its images: the lab offers it so a class can watch that happen.
GAN_LOSSES = ("hinge", "non-saturating", "minimax")


def discriminator_loss(real_score, fake_score, loss: str):
    if loss == "hinge":
        return F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()
    return F.softplus(-real_score).mean() + F.softplus(fake_score).mean()  # -log D(x) - log(1 - D(G(z)))


def generator_loss(fake_score, loss: str):
    if loss == "hinge":
        return -fake_score.mean()
    if loss == "non-saturating":
        return F.softplus(-fake_score).mean()  # -log D(G(z))
    return -F.softplus(fake_score).mean()  # log(1 - D(G(z))), minimised


class GANTrainer(Trainer):
    """Hinge loss (or the recipe's `loss`), spectral-norm discriminator (unless `spectral_norm` is False), EMA of
    the generator's weights."""

    watch_collapse = True
    constant_lr = True

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        spec = recipe
        # The images' size, colour and classes are the data set's (28x28 grey digits, 32x32 colour emoji); a recipe
        # (the training lab's) may set its own on top.
        config = family.full_config({**network_shape(data_set, family), **spec.get("config", {})})
        num_classes = config["num_classes"]
        self.conditional = num_classes > 0
        if self.conditional:
            self.sample_count, self.sample_columns = 8 * num_classes, num_classes  # a column per class
        self.generator = family.build(config).to(device)
        self.discriminator = Discriminator(spec["disc_width"], num_classes, config["channels"],
                                           spec.get("spectral_norm", True)).to(device)
        self.ema = family.build(config).to(device).eval()
        self.ema.load_state_dict(self.generator.state_dict())
        self.ema.requires_grad_(False)
        if world > 1:
            self.generator = DistributedDataParallel(self.generator)
            self.discriminator = DistributedDataParallel(self.discriminator)
        self.optimizers = {
            "opt_g": torch.optim.Adam(self.generator.parameters(), spec["lr"], betas=spec["betas"]),
            "opt_d": torch.optim.Adam(self.discriminator.parameters(), spec["lr"], betas=spec["betas"]),
        }
        self.modules = {"generator": self.generator, "discriminator": self.discriminator, "ema": self.ema}

    def step(self, x, labels, autocast):
        x = x.to(self.device) * 2 - 1
        labels = labels.to(self.device) if self.conditional else None
        z = torch.randn(len(x), unwrap(self.generator).z_dim, device=self.device)
        opt_g, opt_d = self.optimizers["opt_g"], self.optimizers["opt_d"]
        aux = self.recipe["aux_class_weight"] if self.conditional else 0.0
        with autocast:
            fake = self.generator(z, labels)
            both = torch.cat([x, fake.detach()])
            if self.conditional:
                scores, class_logits = self.discriminator(both, torch.cat([labels, labels]), with_class_logits=True)
                # The auxiliary head learns the classes from real images only, so it cannot be fooled into
                # accepting fakes' classes.
                aux_d = F.cross_entropy(class_logits[:len(x)].float(), labels)
            else:
                scores, aux_d = self.discriminator(both), torch.zeros(())
            real_score, fake_score = scores.float().split(len(x))
            loss_d = discriminator_loss(real_score, fake_score, self.recipe.get("loss", "hinge"))
        opt_d.zero_grad(set_to_none=True)
        (loss_d + aux * aux_d).backward()
        opt_d.step()
        # Generator step: reuse the fake batch; the discriminator is frozen (no gradients for its weights).
        disc = unwrap(self.discriminator)
        disc.requires_grad_(False)
        with autocast:
            if self.conditional:
                fake_score, class_logits = disc(fake, labels, with_class_logits=True)
                aux_g = F.cross_entropy(class_logits.float(), labels)
            else:
                fake_score, aux_g = disc(fake), torch.zeros(())
            loss_g = generator_loss(fake_score.float(), self.recipe.get("loss", "hinge"))
        opt_g.zero_grad(set_to_none=True)
        (loss_g + aux * aux_g).backward()
        opt_g.step()
        disc.requires_grad_(True)
        self.update_ema()
        losses = {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
                  "d_real": real_score.mean().item(), "d_fake": fake_score.float().mean().item()}
        if self.conditional:
            losses.update(aux_d=aux_d.item(), aux_g=aux_g.item())
        return losses

    @torch.no_grad()
    def update_ema(self):
        decay = self.recipe["ema_decay"]
        if self.recipe.get("ema_warmup"):  # short runs (the lab's): early on the average follows the generator
            decay = min(decay, (1 + self.current_step) / (10 + self.current_step))
        generator = unwrap(self.generator)
        for ema_p, p in zip(self.ema.parameters(), generator.parameters()):
            ema_p.lerp_(p.detach(), 1 - decay)
        for ema_b, b in zip(self.ema.buffers(), generator.buffers()):
            ema_b.copy_(b)

    load_data = staticmethod(digit_batches)

    @torch.no_grad()
    def samples(self):
        n = self.sample_count
        # The EMA weights need their own batch-norm statistics: the generator's running ones do not fit them
        # and turn the samples to grey mush. (update_ema copies the generator's buffers again next step.)
        self.export(quick=self.recipe.get("dry_run", False), batches=10, batch_size=128)
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        z = torch.randn(n, self.ema.z_dim, generator=g).to(self.device)
        labels = (torch.arange(n) % self.sample_columns).to(self.device) if self.conditional else None
        return (self.ema(z, labels).float() + 1) / 2

    @torch.no_grad()
    def export(self, quick=False, batches=100, batch_size=256):
        """The EMA generator, with batch-norm statistics re-measured for its own (averaged) weights (on 2 batches
        when quick: 100 batches of 256 take about 20 s on a CPU)."""
        batches = 2 if quick else batches
        for m in self.ema.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
        self.ema.train()
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        for _ in range(batches):
            z = torch.randn(batch_size, self.ema.z_dim, generator=g).to(self.device)
            labels = (torch.randint(0, self.ema.num_classes, (batch_size,), generator=g).to(self.device)
                      if self.conditional else None)
            self.ema(z, labels)
        self.ema.eval()
        for m in self.ema.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
        return self.ema


# What train.py runs (every knob visible). aux_class_weight, per dataset: the AC-GAN class loss beside the
# projection discriminator; garments need more to keep T-shirts, pullovers, shirts and coats apart
# (docs/history.md). The shipped Fashion-MNIST conditional GAN ran 12,000 steps (--steps 12000).
RECIPES = {
    "dcgan": dict(family="dcgan", steps=8000, batch_size=64, lr=2e-4, betas=(0.0, 0.9), ema_decay=0.999,
                  disc_width=32),
    "cgan": dict(family="cgan", steps=8000, batch_size=64, lr=2e-4, betas=(0.0, 0.9), ema_decay=0.999,
                 disc_width=32, aux_class_weight={"mnist": 1.0, "fashion-mnist": 6.0, "emoji": 2.0}),
}

FAMILIES = [
    Family("dcgan", "generator", Generator, {"z_dim": 64, "width": 32, "num_classes": 0, "channels": 1, "side": 28},
           GANTrainer,
           label="DCGAN", latent_knob="truncation",
           description="DCGAN: a generator trained against a spectral-norm discriminator with the hinge loss"),
    Family("cgan", "conditional-generator", Generator, {"z_dim": 64, "width": 32, "num_classes": 10, "channels": 1, "side": 28},
           GANTrainer,
           label="Conditional GAN", latent_knob="truncation",
           description="Conditional GAN: class-conditional batch norm, projection discriminator with an auxiliary "
                       "classifier"),
]
