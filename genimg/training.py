"""Training loops for every model family, with resumable state, sample grids and collapse warnings.

`train()` is the one entry point; train.py is a thin command line over it. Every hyperparameter
sits in MODELS below. Each step re-seeds the random generators from (seed, step, rank), so a run
is deterministic for a seed on a given device, and a run resumed from a saved state continues
exactly as if it had never stopped.
"""
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from safetensors import safe_open
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from . import __version__, checkpoints, data as datasets, imaging, inpainting, masks as free_form, photos, styling
from . import hardware, upscaling, vgg as vgg_lib
from .models import FAMILIES, build, full_config
from .models import sr as sr_models
from .models.gan import Discriminator
from .models.inpaint import composite
from .models.vae import vae_loss

# What train.py can train. Every knob is here, visible; the command line can override steps.
MODELS = {
    "dcgan": dict(family="dcgan", steps=8000, batch_size=64, lr=2e-4, betas=(0.0, 0.9), ema_decay=0.999,
                  disc_width=32),
    # aux_class_weight: the AC-GAN class loss beside the projection discriminator, per dataset. Garments need more:
    # at 1.0 the Fashion-MNIST generator drew T-shirts and pullovers that a classifier read as shirts or coats
    # (agreement 92.8%; 3.0 gives 94.2%; 6.0 with 12,000 steps 97.7%, and a lower FD). A wider discriminator
    # (disc_width 64) did not help: its class head stayed at 86% on real test garments. Fashion-MNIST's shipped
    # generator: --steps 12000.
    "cgan": dict(family="cgan", steps=8000, batch_size=64, lr=2e-4, betas=(0.0, 0.9), ema_decay=0.999,
                 disc_width=32, aux_class_weight={"mnist": 1.0, "fashion-mnist": 6.0}),
    "vae": dict(family="vae", steps=4000, batch_size=128, lr=1e-3, betas=(0.9, 0.999)),
    "vae2d": dict(family="vae2d", steps=4000, batch_size=128, lr=1e-3, betas=(0.9, 0.999)),
    "classifier": dict(family="classifier", steps=3000, batch_size=128, lr=3e-3, betas=(0.9, 0.999),
                       weight_decay=0.05),
    # Super-resolution on photos (see SRTrainer): `patch` is the low-resolution crop side; both scales share a body.
    # scale_turns: the order in which batches take the scales; x4 gets two turns in three (it is the harder
    # scale, and the one furthest from its target). cpu_bf16: autocast to bfloat16 on a CPU as on a GPU (with
    # AVX512-BF16 an EDSR step is 1.8x faster; the bicubic base and the loss stay float32).
    # sr-fast: about 12 min on one CPU core. sr-quality-base (EDSR 64 channels x 8 blocks, VDSR's size): 80 min
    # on 2 cores in bfloat16 (the one behind the shipped model then went on to 15,000 steps with --resume: +0.01 dB
    # at x2, none at x4: that size had reached its plateau). sr-quality, the shipped model: EDSR-baseline's 16
    # blocks grown from sr-quality-base's checkpoint (`grow_from`, see sr.deepen) and trained on at a lower lr.
    # On a GPU, raise the steps 10-100x and train the 16 blocks from scratch.
    "sr-fast": dict(family="espcn", dataset="photos", steps=4000, batch_size=16, patch=48, lr=1e-3,
                    betas=(0.9, 0.999)),
    "sr-quality-base": dict(family="edsr", dataset="photos", steps=10500, batch_size=16, patch=48, lr=5e-4,
                            betas=(0.9, 0.999), scale_turns=[2, 4, 4], cpu_bf16=True),
    "sr-quality": dict(family="edsr", dataset="photos", config={"blocks": 16}, grow_from="sr-quality-base",
                       steps=5000, batch_size=16, patch=48, lr=2e-4, betas=(0.9, 0.999), scale_turns=[2, 4, 4],
                       cpu_bf16=True),
    # Inpainting on photos (see InpaintTrainer): `patch` is the crop side, photos shrunk to `photo_side` at load.
    # perceptual_weight 0: the shared VGG16 is fine-tuned for edge detection (HED), and with it the fills went
    # orange-brown; L1 alone serves the fidelity target (PSNR). Photos at their own size (BSDS: 481 px).
    # cpu_bf16: bf16 autocast on the CPU too, 1.9x faster steps with AVX512-BF16 (0.45 s instead of 0.87 s per
    # batch of 8 on 2 threads); the push-pull start and the loss stay float32. steps: the hole PSNR still rose from
    # 4,000 to 15,000 (Kodak24: +0.26 to +0.76 dB over Telea, then +0.70 to +1.34); about 2.3 h on 2 CPU threads in
    # bf16. checkpoints/inpaint-base-photos ran them in three resumed pieces (README, Inpainting; 184 min in all).
    "inpaint-base": dict(family="inpaint", dataset="photos", steps=15000, batch_size=8, patch=128, photo_side=512,
                         lr=5e-4, betas=(0.9, 0.999), mask_ratio=(0.05, 0.5), hole_weight=6.0, valid_weight=1.0,
                         perceptual_weight=0.0, perceptual_layers=["relu1_2", "relu2_2"], cpu_bf16=True),
    # inpaint-base fine-tuned on 256-pixel crops with 10-50 % masks. Masks are drawn relative to the crop, so
    # 128-pixel crops only ever showed holes up to 51 px wide, while a 40-50 % mask on a 768x512 photo has boxes
    # up to 300 px; bigger crops show bigger holes with more context around them, for the same pixels per step
    # (batch 2 instead of 8). Kodak24 hole PSNR over Telea went from +1.34 / +1.23 / +1.19 / +0.70 dB (the base)
    # to +1.60 / +1.44 / +1.45 / +1.07 (one pass; 117 min on 2 threads in bf16). Shipped as inpaint-256-photos
    # (trained when this recipe was called "inpaint").
    "inpaint-256": dict(family="inpaint", dataset="photos", grow_from="inpaint-base", steps=12000, batch_size=2,
                        patch=256, photo_side=512, lr=2.5e-4, betas=(0.9, 0.999), mask_ratio=(0.1, 0.5),
                        hole_weight=6.0, valid_weight=1.0, perceptual_weight=0.0,
                        perceptual_layers=["relu1_2", "relu2_2"], cpu_bf16=True),
    # inpaint-256 fine-tuned with squared error instead of L1 (pixel_loss, see InpaintTrainer.step), since PSNR
    # is a squared-error measure, at lr 1e-4 on the same crops and masks. Kodak24 hole PSNR with the two-pass fill
    # of its time: +0.02 / +0.06 / +0.02 / +0.01 dB over inpaint-256 (100.9 min on 2 threads in bf16; trained
    # when this recipe was called "inpaint-mse", shipped as inpaint-photos until the stage below).
    "inpaint-l2": dict(family="inpaint", dataset="photos", grow_from="inpaint-256", steps=4500, batch_size=2,
                       patch=256, photo_side=512, lr=1e-4, betas=(0.9, 0.999), mask_ratio=(0.1, 0.5),
                       hole_weight=6.0, valid_weight=1.0, pixel_loss="l2", perceptual_weight=0.0,
                       perceptual_layers=["relu1_2", "relu2_2"], cpu_bf16=True),
    # The shipped inpainter: inpaint-l2 fine-tuned on the benchmark's own measure, each photo's hole PSNR
    # averaged over the batch (pixel_loss="psnr", see InpaintTrainer.step), same crops and masks, lr 5e-5.
    # valid_weight 0: the composite throws the network's known pixels away. Kodak24 hole PSNR with the shipped
    # blend of passes: +0.01 / +0.00 / +0.04 / +0.02 dB over inpaint-l2; on the scikit-image samples +0.04 /
    # +0.06 / +0.07 / +0.05 (33.6 min on 2 threads in bf16; trained when this recipe was called "inpaint-psnr").
    # Resumed to 7,200 steps it scored no better (README, Inpainting).
    "inpaint": dict(family="inpaint", dataset="photos", grow_from="inpaint-l2", steps=3600, batch_size=2,
                    patch=256, photo_side=512, lr=5e-5, betas=(0.9, 0.999), mask_ratio=(0.1, 0.5),
                    hole_weight=1.0, valid_weight=0.0, pixel_loss="psnr", perceptual_weight=0.0,
                    perceptual_layers=["relu1_2", "relu2_2"], cpu_bf16=True),
    # Fast style transfer, all presets in one network (see StyleTrainer and StyleNetwork; README, Style transfer).
    # reconstruction_steps: first learn to reproduce photos (pixel L1, no VGG), then Gatys' own weights
    # (1 : 600 : 10). Straight into the perceptual loss, a network without a skip from the photo lost it (content
    # 800 after 600 steps), one with the skip kept it but only painted colour blotches (style 1.17), and this
    # network without the reconstruction phase was still blurred after 600 steps (1.03 / 646).
    # loss_bf16: the frozen VGG16 in bfloat16 on a CPU (1.8x faster with AVX512-BF16; Gram matrices stay
    # float32). style_params_lr_scale: the per-preset gammas and betas learn 10x faster (at 1x all presets
    # still painted alike after 250 steps). Published networks train 20-40k steps on a GPU; this many fit in
    # about 45 minutes on a 2-core CPU.
    "style": dict(family="style", dataset="photos", steps=5500, reconstruction_steps=1500, batch_size=4, crop=128,
                  photo_side=384, lr=1e-3,
                  betas=(0.9, 0.999), content_weight=styling.CONTENT_WEIGHT, style_weight=styling.STYLE_WEIGHT,
                  tv_weight=styling.TV_WEIGHT, loss_bf16=True, style_params_lr_scale=10.0),
}
DRY_RUN = dict(steps=6, batch_size=16, sample_every=3, save_every=3)
SAMPLE_SEED = 1234  # the fixed noise behind every progress grid
COLLAPSE_CHECK_AFTER = 1000  # steps: before this the EMA generator is still close to its (blurry) start


def checkpoint_name(model: str, dataset: str) -> str:
    return f"{model}-{dataset}"


# ----------------------------------------------------------------------------------------------
# Small pieces: devices, distributed set-up, seeding, data batches, progress


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu.")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device != "cpu":
        raise ValueError(f"--device must be auto, cpu or cuda, not {device!r}.")
    return torch.device("cpu")


def init_distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); under torchrun, joins the process group (NCCL on GPUs, gloo on CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return dist.get_rank(), world


def seed_everything(seed: int, step: int, rank: int) -> None:
    torch.manual_seed((seed * 1_000_003 + step) * 64 + rank)


def synthetic_dataset(n_train: int = 256, n_test: int = 64) -> datasets.Dataset:
    """A tiny labelled dataset made on the spot for --dry-run and tests: class k is a bar at angle k*18 degrees."""
    rng = np.random.default_rng(0)
    coords = np.stack(np.meshgrid(np.arange(28) - 13.5, np.arange(28) - 13.5, indexing="xy"))

    def make(n):
        labels = rng.integers(0, 10, n)
        angles = labels * np.pi / 10 + rng.normal(0, 0.05, n)
        normals = np.stack([-np.sin(angles), np.cos(angles)], 1)
        distance = np.abs(np.einsum("nc,chw->nhw", normals, coords))
        images = np.clip(255 * (2.5 - distance), 0, 255) * (np.hypot(*coords) < 12)
        return torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels)

    (xtr, ytr), (xte, yte) = make(n_train), make(n_test)
    return datasets.Dataset("synthetic", [f"bar {k * 18} deg" for k in range(10)], xtr, ytr, xte, yte, "synthetic")


class Batches:
    """Epochs of shuffled indices; batch i of an epoch is a pure function of (seed, step), so resume is exact."""

    def __init__(self, images, labels, batch_size, seed, rank, world, augment=None):
        self.images, self.labels = images, labels
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.per_epoch = max(1, len(images) // (batch_size * world))
        self.augment = augment
        self._epoch, self._order = None, None

    def __call__(self, step):
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._order = torch.randperm(len(self.images), generator=torch.Generator().manual_seed(self.seed * 7919 + epoch))
        start = (i * self.world + self.rank) * self.batch_size
        index = self._order[start:start + self.batch_size]
        x = datasets.to_float(self.images[index])
        if self.augment:
            x = self.augment(x)
        return x, self.labels[index]


def shift_and_flip(flip: bool):
    """Augmentation for the classifier: random shifts of up to 2 pixels, and horizontal flips for garments."""

    def augment(x):
        padded = F.pad(x, (2, 2, 2, 2))
        offsets = torch.randint(0, 5, (len(x), 2))
        x = torch.stack([padded[i, :, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(offsets.tolist())])
        if flip:
            mirror = torch.rand(len(x)) < 0.5
            x[mirror] = x[mirror].flip(-1)
        return x

    return augment


class Progress:
    """A one-line progress bar with the losses, speed and time left (a plain log line when not on a terminal)."""

    def __init__(self, total, start, enabled=True):
        self.total, self.start_step, self.enabled = total, start, enabled
        self.t0 = self.last = time.time()
        self.tty = sys.stderr.isatty()

    def update(self, step, losses, force=False):
        now = time.time()
        if not self.enabled or (not force and now - self.last < (0.5 if self.tty else 30)):
            return
        self.last = now
        done = step - self.start_step
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else 0
        bar = "#" * int(30 * step / self.total)
        text = (f"[{bar:<30}] {step}/{self.total} " + " ".join(f"{k} {v:.3f}" for k, v in losses.items()) +
                f" | {rate:.1f} it/s | {eta / 60:.1f} min left")
        print(("\r" + text) if self.tty else text, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self):
        if self.enabled and self.tty:
            print(file=sys.stderr)


def warn(message: str, history: dict, step: int) -> None:
    print(f"\nWARNING (step {step}): {message}", file=sys.stderr, flush=True)
    history.setdefault("warnings", []).append([step, message])


# ----------------------------------------------------------------------------------------------
# Optimiser state in safetensors (no pickles even for the resume state)


def optimizer_tensors(prefix: str, optimizer) -> tuple[dict, list]:
    state = optimizer.state_dict()
    tensors = {f"{prefix}.{index}.{key}": value for index, entry in state["state"].items()
               for key, value in entry.items() if torch.is_tensor(value)}
    return tensors, state["param_groups"]


def restore_optimizer(prefix: str, optimizer, tensors: dict, param_groups: list) -> None:
    state = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


# ----------------------------------------------------------------------------------------------
# The model families: each sets up its modules and optimisers, and defines one training step.


def unwrap(module):
    return module.module if isinstance(module, DistributedDataParallel) else module


class GANTrainer:
    """Hinge loss, spectral-norm discriminator, EMA of the generator's weights."""

    def __init__(self, spec, family, num_classes, device, world):
        self.spec, self.device = spec, device
        self.conditional = family == "cgan"
        self.generator = build(family).to(device)
        self.discriminator = Discriminator(spec["disc_width"], 10 if self.conditional else 0).to(device)
        self.ema = build(family).to(device).eval()
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
        aux = self.spec["aux_class_weight"] if self.conditional else 0.0
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
            loss_d = F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()
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
            loss_g = -fake_score.float().mean()
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
        decay = self.spec["ema_decay"]
        generator = unwrap(self.generator)
        for ema_p, p in zip(self.ema.parameters(), generator.parameters()):
            ema_p.lerp_(p.detach(), 1 - decay)
        for ema_b, b in zip(self.ema.buffers(), generator.buffers()):
            ema_b.copy_(b)

    @torch.no_grad()
    def samples(self, n=64):
        # The EMA weights need their own batch-norm statistics: the generator's running ones do not fit them
        # and turn the samples to grey mush. (update_ema copies the generator's buffers again next step.)
        self.export(batches=10, batch_size=128)
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        z = torch.randn(n, self.ema.z_dim, generator=g).to(self.device)
        labels = (torch.arange(n) % 10).to(self.device) if self.conditional else None
        return (self.ema(z, labels).float() + 1) / 2

    @torch.no_grad()
    def export(self, batches=100, batch_size=256):
        """The EMA generator, with batch-norm statistics re-measured for its own (averaged) weights."""
        for m in self.ema.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
        self.ema.train()
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        for _ in range(batches):
            z = torch.randn(batch_size, self.ema.z_dim, generator=g).to(self.device)
            labels = torch.randint(0, 10, (batch_size,), generator=g).to(self.device) if self.conditional else None
            self.ema(z, labels)
        self.ema.eval()
        for m in self.ema.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
        return self.ema

    def evaluate(self, dataset):
        return {}


class VAETrainer:
    def __init__(self, spec, family, num_classes, device, world):
        self.spec, self.device = spec, device
        self.model = build(family).to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}

    def step(self, x, labels, autocast):
        x = x.to(self.device)
        with autocast:
            logits, mean, logvar = self.net(x)
            loss, reconstruction, kl = vae_loss(logits.float(), x, mean.float(), logvar.float())
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "recon": reconstruction.item(), "kl": kl.item()}

    @torch.no_grad()
    def samples(self, n=64):
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        self.model.eval()
        images = self.model.decode(torch.randn(n, self.model.z_dim, generator=g).to(self.device))
        self.model.train()
        return images

    def export(self):
        return self.model.eval()

    @torch.no_grad()
    def evaluate(self, dataset):
        self.model.eval()
        total = 0.0
        for chunk in datasets.to_float(dataset.test_images).split(1000):
            x = chunk.to(self.device)
            mean, logvar = self.model.encode(x)
            total += vae_loss(self.model.decode_logits(mean + 0 * logvar), x, mean, logvar)[0].item() * len(x)
        self.model.train()
        return {"test_neg_elbo_nats": round(total / len(dataset.test_images), 2)}


class ClassifierTrainer:
    def __init__(self, spec, family, num_classes, device, world):
        self.spec, self.device = spec, device
        self.model = build(family, {"num_classes": num_classes}).to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.AdamW(self.model.parameters(), spec["lr"], betas=spec["betas"],
                                                    weight_decay=spec["weight_decay"])}
        self.modules = {"model": self.model}

    def step(self, x, labels, autocast):
        x, labels = x.to(self.device), labels.to(self.device)
        with autocast:
            loss = F.cross_entropy(self.net(x).float(), labels)
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def samples(self, n=64):
        return None

    def export(self):
        return self.model.eval()

    @torch.no_grad()
    def evaluate(self, dataset):
        self.model.eval()
        correct = 0
        for x, y in zip(datasets.to_float(dataset.test_images).split(1000), dataset.test_labels.split(1000)):
            correct += (self.model(x.to(self.device)).argmax(1).cpu() == y).sum().item()
        self.model.train()
        return {"test_accuracy": round(correct / len(dataset.test_images), 4)}


def centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The side x side square at the centre of an (H, W, ...) array."""
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[top:top + side, left:left + side]


class PhotoPairs:
    """(low-res, high-res) patch pairs of one scale per step: scales take turns (as MDSR picks one per batch);
    `turns` lists them in order, a scale named twice getting twice the batches.

    Each photo is mod-cropped and shrunk once per scale with the MATLAB-compatible bicubic, exactly as the
    evaluation makes its inputs; a batch crops aligned patches from those pairs, with a random flip and
    rotation (the 8 symmetries of the square). Batch `step` is a pure function of (seed, step, rank), so a
    resumed run continues exactly.
    """

    def __init__(self, photo_folder, turns, patch, batch_size, seed, rank, world):
        self.turns, self.patch, self.batch_size = list(turns), patch, batch_size
        self.seed, self.rank = seed, rank
        scales = sorted(set(self.turns))
        multiple = int(np.lcm.reduce(scales))
        big_enough = [p for p in photo_folder.train if min(p.shape[:2]) >= patch * max(scales)]
        self.high = [photos.modcrop(p, multiple) for p in big_enough]
        self.low = {s: [photos.imresize(hr, 1 / s) for hr in self.high] for s in scales}
        self.per_epoch = max(1, len(self.high) // (batch_size * world))  # for --epochs: a batch per photo

    def __call__(self, step):
        scale = self.turns[step % len(self.turns)]
        rng = np.random.default_rng([self.seed, step, self.rank])
        low_patches, high_patches = [], []
        for i in rng.integers(0, len(self.high), self.batch_size):
            low = self.low[scale][i]
            y = int(rng.integers(0, low.shape[0] - self.patch + 1))
            x = int(rng.integers(0, low.shape[1] - self.patch + 1))
            lo = low[y:y + self.patch, x:x + self.patch]
            hi = self.high[i][y * scale:(y + self.patch) * scale, x * scale:(x + self.patch) * scale]
            turns, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
            lo, hi = np.rot90(lo, turns), np.rot90(hi, turns)
            if flip:
                lo, hi = lo[:, ::-1], hi[:, ::-1]
            low_patches.append(lo)
            high_patches.append(hi)

        def to_tensor(patches):
            return torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).float().div_(255)

        return {scale: (to_tensor(low_patches), to_tensor(high_patches))}, None


def grown_from(spec, dry_run_config):
    """The trained checkpoint a network starts from (spec["grow_from_dir"]/<grow_from>-<dataset>) as a module, and
    what the card should say about it; a dry run gets an untrained network of `dry_run_config` and needs no file."""
    if spec.get("dry_run"):
        return build(spec["family"], dry_run_config), {"name": "untrained (--dry-run)"}
    name = checkpoint_name(spec["grow_from"], spec["dataset"])
    try:
        state, card = checkpoints.load(spec["grow_from_dir"], name)
    except checkpoints.CheckpointError as error:
        raise ValueError(f"This network grows from the {name} checkpoint, which is not usable ({error}); "
                         f"train it first: python train.py {spec['grow_from']} --dataset "
                         f"{spec['dataset']} --data PATH") from error
    base = checkpoints.load_into(build(card["family"], card["config"]), state, name)
    origin = {"name": name, "sha256": card.get("sha256"), "config": card["config"], "steps": card["steps"],
              "command": card.get("command"), "wall_time_s": card.get("wall_time_s"),
              "benchmark": card.get("metrics", {}).get("benchmark")}
    return base, origin


class SRTrainer:
    """Super-resolution: L1 loss between the network's output and the original patch.

    L1 rather than L2 (EDSR's finding): L2 is dominated by the few large errors at edges and averages the
    rest into blur; L1 weighs every error alike and converges to sharper results with better PSNR.
    """
    VAL_CROP = 192  # high-resolution side of the centre crops scored during training (divisible by 2 and 4)

    def __init__(self, spec, family, num_classes, device, world):
        self.spec, self.device = spec, device
        self.card_extras = {}
        if spec.get("grow_from"):
            self.model, self.card_extras["grown_from"] = self.grown(spec)
        else:
            self.model = build(family, spec.get("config"))
        self.model = self.model.to(device)
        # Only one scale's head runs per step: DDP must allow the other's parameters to go unused.
        self.net = DistributedDataParallel(self.model, find_unused_parameters=True) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}

    @staticmethod
    def grown(spec):
        """The network deepened from a trained shallower checkpoint (`grown_from`), and what the card says of it."""
        config = spec.get("config") or {}
        shallow, origin = grown_from(spec, {k: v for k, v in config.items() if k != "blocks"})
        return sr_models.deepen(shallow, full_config(spec["family"], config)["blocks"]), origin

    @staticmethod
    def load_data(spec, data, dry_run, seed, rank, world):
        """Photos (train.py --data, or synthetic ones for --dry-run) and the batches cut from them."""
        folder = photos.synthetic_photos() if dry_run else photos.load_photos(data)
        patch = min(spec["patch"], 16) if dry_run else spec["patch"]
        scales = full_config(spec["family"], spec.get("config"))["scales"]
        return folder, PhotoPairs(folder, spec.get("scale_turns", scales), patch, spec["batch_size"], seed, rank,
                                  world)

    def step(self, pairs, labels, autocast):
        (scale, (low, high)), = pairs.items()
        with autocast:
            output = self.net(low.to(self.device), scale)
        loss = F.l1_loss(output.float(), high.to(self.device))
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {f"l1_x{scale}": loss.item()}

    def samples(self, n=64):
        return None

    def export(self):
        return self.model.eval()

    def val_crops(self, photo_folder, count=4):
        crops = []
        for image in photo_folder.val[:count]:
            crops.append(centre_crop(image, min(self.VAL_CROP, *image.shape[:2]) // 4 * 4))
        return crops

    @torch.no_grad()
    def validate(self, photo_folder, run_dir, step):
        """PSNR-Y on centre crops of a few validation photos, and a picture: bicubic | network | original."""
        model = self.model.eval()
        crops, scores, rows = self.val_crops(photo_folder), {}, []
        for scale in model.scales:
            measured = [upscaling.measure(model, crop, scale) for crop in crops]
            scores[f"val_psnr_x{scale}"] = float(np.mean([m["model"]["psnr"] for m in measured]))
            scores[f"val_gain_db_x{scale}"] = scores[f"val_psnr_x{scale}"] - float(np.mean([m["bicubic"]["psnr"]
                                                                                        for m in measured]))
            first = measured[0]["images"]
            rows.append(np.concatenate([first["bicubic"], first["model"], first["original"]], axis=1))
        Image.fromarray(np.concatenate(rows, axis=0)).save(Path(run_dir) / "samples.png")
        Image.fromarray(np.concatenate(rows, axis=0)).save(Path(run_dir) / f"samples_{step:06d}.png")
        self.model.train()
        return scores

    @torch.no_grad()
    def evaluate(self, photo_folder):
        """PSNR/SSIM-Y on every validation photo at each scale, beside bicubic (the paper protocol)."""
        model = self.model.eval()
        metrics = {"val_images": photo_folder.val_source}
        for scale in model.scales:
            result = upscaling.evaluate(model, photo_folder.val, scale)
            metrics[f"x{scale}"] = {"psnr": round(result["model"]["psnr"], 3),
                                    "ssim": round(result["model"]["ssim"], 4),
                                    "bicubic_psnr": round(result["bicubic"]["psnr"], 3),
                                    "bicubic_ssim": round(result["bicubic"]["ssim"], 4),
                                    "gain_db": round(result["gain_db"], 3)}
        return metrics


class PhotoCrops:
    """(crop, mask) batches for inpainting: random crops of the photos, flipped/rotated, each with a free-form mask
    covering a share of it drawn from `mask_ratio` (low, high). Batch `step` is a pure function of (seed, step,
    rank), so a resumed run continues exactly."""

    def __init__(self, photo_folder, patch, batch_size, seed, rank, world, mask_ratio=(0.05, 0.5)):
        self.patch, self.batch_size, self.seed, self.rank = patch, batch_size, seed, rank
        self.mask_ratio = tuple(mask_ratio)
        self.images = [p for p in photo_folder.train if min(p.shape[:2]) >= patch]
        self.per_epoch = max(1, len(self.images) // (batch_size * world))

    def __call__(self, step):
        rng = np.random.default_rng([self.seed, step, self.rank])
        crops, holes = [], []
        for i in rng.integers(0, len(self.images), self.batch_size):
            image = self.images[i]
            y = int(rng.integers(0, image.shape[0] - self.patch + 1))
            x = int(rng.integers(0, image.shape[1] - self.patch + 1))
            crop = np.rot90(image[y:y + self.patch, x:x + self.patch], int(rng.integers(0, 4)))
            crops.append(crop[:, ::-1] if rng.integers(0, 2) else crop)
            holes.append(free_form.random_mask(rng, self.patch, self.patch, *self.mask_ratio))
        images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255)
        return (images, torch.from_numpy(np.stack(holes)).float()[:, None]), None


def shrink_photo(path, side):
    """A photo decoded at reduced size (JPEG draft mode) and shrunk so its longer side is `side`: the big
    wallpapers would otherwise give 96-pixel crops of flat sky or a single texture."""
    with Image.open(path) as image:
        image.draft("RGB", (side, side))
        image = image.convert("RGB")
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        return np.asarray(image)


def loss_vgg(spec, device):
    """The frozen VGG16 of the perceptual and style losses: --vgg-weights, $GENIMG_VGG_WEIGHTS or torchvision's
    download. A dry run (tests, CI) never downloads 500 MB: without weights it gets a fixed random VGG, which
    exercises the same code; weights that were asked for must be there, dry run or not."""
    try:
        return vgg_lib.load_vgg(spec.get("vgg_weights"), download=not spec.get("dry_run")).to(device)
    except vgg_lib.VGGUnavailable:
        if not spec.get("dry_run") or spec.get("vgg_weights") or os.environ.get(vgg_lib.ENV_VAR):
            raise
        vgg = vgg_lib.VGGFeatures().to(device)
        vgg.source = "random weights (--dry-run without VGG weights): not a usable model"
        return vgg


class InpaintTrainer:
    """Inpainting: L1 on the hole (weighted 6x) and on the known region (the partial-convolution paper's
    weights, Liu et al. 2018), or squared error with the same weights (`pixel_loss="l2"`), or minus each photo's
    hole PSNR averaged over the batch (`pixel_loss="psnr"`), and optionally a VGG16
    perceptual loss on the composite (`perceptual_weight`; off in the shipped recipes, see MODELS). With
    `grow_from` the network starts from that checkpoint's weights.

    The target is fidelity (PSNR): L1 first, which converges faster from scratch, then a squared-error stage,
    whose optimum is the one PSNR measures, then the mean of per-photo PSNRs itself, as the benchmark averages
    it. No adversarial loss: on a CPU budget a discriminator costs half the
    steps and trades PSNR for texture, against the target.
    """
    VAL_CROP = 256  # side of the centre crops of validation photos scored while training
    PSNR_CAP_MSE = 1e-4  # pixel_loss="psnr": added to each hole's MSE, so gains past about 40 dB count little

    def __init__(self, spec, family, num_classes, device, world):
        self.spec, self.device = spec, device
        self.card_extras = {}
        if spec.get("grow_from"):  # fine-tuning a trained network (the inpaint- recipes in MODELS)
            self.model, self.card_extras["grown_from"] = grown_from(spec, spec.get("config"))
        else:
            self.model = build(family, spec.get("config"))
        self.model = self.model.to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}  # the VGG is a fixed loss network: never saved, never in the checkpoint
        self.vgg = loss_vgg(spec, device) if spec["perceptual_weight"] > 0 else None

    @staticmethod
    def load_data(spec, data, dry_run, seed, rank, world):
        if dry_run:
            folder = photos.synthetic_photos()
        else:
            train_dir, val_dir = photos.find_photos(data)
            train = [shrink_photo(p, spec["photo_side"]) for p in photos.list_images(train_dir)]
            if val_dir is not None:
                val, val_source = [photos.load_rgb(p) for p in photos.list_images(val_dir)], str(val_dir)
            else:
                train, val, val_source = train[:-10], train[-10:], f"the last 10 photos of {train_dir}"
            folder = photos.PhotoFolder(train, val, str(train_dir), val_source)
        patch = 32 if dry_run else spec["patch"]
        return folder, PhotoCrops(folder, patch, spec["batch_size"], seed, rank, world, spec["mask_ratio"])

    def step(self, batch, labels, autocast):
        images, holes = (t.to(self.device) for t in batch)
        with autocast:
            output = self.net(images, holes).float()
        valid = 1 - holes
        # Means over all pixels (not per region), as in the partial-convolution paper: a bigger hole weighs more.
        error = output - images
        hole_l1 = (holes * error.abs()).mean()
        valid_l1 = (valid * error.abs()).mean()
        losses = {"hole_l1": hole_l1.item(), "valid_l1": valid_l1.item()}
        pixel_loss = self.spec.get("pixel_loss", "l1")
        if pixel_loss == "psnr":
            # The benchmark's own measure: hole PSNR per image, averaged over images. Squared error summed over
            # the batch weighs each image by its hole's area times its error, so big, hard holes dominate; this
            # weighs every image alike, as the mean PSNR does (10 log10 of the hole's MSE; PSNR_CAP_MSE keeps a
            # flat-sky crop from taking over the batch once its fill is near exact).
            per_image = (holes * error ** 2).sum((1, 2, 3)) / (3 * holes.sum((1, 2, 3))).clamp_min(1)
            hole_term = 10 * torch.log10(per_image + self.PSNR_CAP_MSE).mean()
            valid_term = (valid * error ** 2).mean()
            losses["hole_psnr"] = -hole_term.item()
        elif pixel_loss == "l2":
            # Squared error: its minimiser is the mean of what could be in the hole, the fill PSNR rewards; L1's
            # is the median. They differ most where the hole is deep and the network is least sure.
            hole_term, valid_term = (holes * error ** 2).mean(), (valid * error ** 2).mean()
            losses["hole_l2"] = hole_term.item()
        else:
            hole_term, valid_term = hole_l1, valid_l1
        loss = self.spec["hole_weight"] * hole_term + self.spec["valid_weight"] * valid_term
        if self.vgg is not None:
            layers = self.spec["perceptual_layers"]
            with torch.no_grad():
                target = self.vgg(images, layers)
            # On the composite only (what the user sees): the partial-conv paper also scores the raw output, but
            # a second VGG pass costs a third of a step on a CPU.
            filled = self.vgg(composite(images, output, holes), layers)
            perceptual = sum(F.l1_loss(filled[k], target[k]) for k in layers)
            loss = loss + self.spec["perceptual_weight"] * perceptual
            losses["perceptual"] = perceptual.item()
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return losses

    def samples(self, n=64):
        return None

    def export(self):
        return self.model.eval()

    def val_items(self, photo_folder, count=4):
        """Centre crops of the first validation photos, each with a fixed 30-40 % mask."""
        items = []
        for k, image in enumerate(photo_folder.val[:count]):
            side = min(self.VAL_CROP, *image.shape[:2])
            crop = centre_crop(image, side)
            items.append((crop, free_form.bucket_masks(k, side, side, 0.3, 0.4, 1)[0]))
        return items

    @torch.no_grad()
    def validate(self, photo_folder, run_dir, step):
        """Hole PSNR on validation crops, and a picture: input with the hole | network | original."""
        model = self.model.eval()
        scores, rows = [], []
        for crop, mask in self.val_items(photo_folder):
            # One pass at the crop's size (not the shipped blend of passes): the network's own score, comparable
            # across the training stages' logs.
            result = inpainting.model_fill_uint8(model, crop, mask, passes=inpainting.ONE_PASS)
            scores.append(inpainting.measure(result, crop, mask)["hole_psnr"])
            shown = crop.copy()
            shown[mask] = (255, 255, 255)
            rows.append(np.concatenate([shown, result, crop], axis=1))
        picture = Image.fromarray(np.concatenate(rows, axis=0))
        picture.save(Path(run_dir) / "samples.png")
        picture.save(Path(run_dir) / f"samples_{step:06d}.png")
        self.model.train()
        return {"val_hole_psnr": float(np.mean(scores))}

    @torch.no_grad()
    def evaluate(self, photo_folder):
        """Hole and whole-image PSNR per mask-ratio bucket on the validation photos (one seeded mask each)."""
        model = self.model.eval()
        metrics = {"val_images": photo_folder.val_source, "passes": inpainting.passes_record()}
        for low, high in free_form.BUCKETS:
            scores = []
            for k, image in enumerate(photo_folder.val):
                mask = free_form.bucket_masks(k, *image.shape[:2], low, high, 1)[0]
                scores.append(inpainting.measure(inpainting.model_fill_uint8(model, image, mask), image, mask))
            metrics[f"{round(low * 100)}-{round(high * 100)}%"] = {
                key: round(float(np.mean([s[key] for s in scores])), 4) for key in ("hole_psnr", "hole_ssim", "psnr")}
        return metrics


class StyleCrops:
    """Random crops of the training photos, each with the style it is to be painted in.

    Styles go round in turn over the batch items (item i of step s gets style (s * batch + i) mod styles), so
    every style gets the same share of the training. Batch `step` is a pure function of (seed, step, rank).
    """

    def __init__(self, photo_folder, num_styles, crop, batch_size, seed, rank, world):
        self.photos = [p for p in photo_folder.train if min(p.shape[:2]) >= crop]
        self.num_styles, self.crop, self.batch_size = num_styles, crop, batch_size
        self.seed, self.rank, self.world = seed, rank, world
        self.per_epoch = max(1, len(self.photos) // (batch_size * world))

    def __call__(self, step):
        rng = np.random.default_rng([self.seed, step, self.rank])
        crops = []
        for i in rng.integers(0, len(self.photos), self.batch_size):
            photo = self.photos[i]
            y = int(rng.integers(0, photo.shape[0] - self.crop + 1))
            x = int(rng.integers(0, photo.shape[1] - self.crop + 1))
            patch = photo[y:y + self.crop, x:x + self.crop]
            crops.append(patch[:, ::-1] if rng.integers(0, 2) else patch)
        first = (step * self.world + self.rank) * self.batch_size
        styles = torch.arange(first, first + self.batch_size) % self.num_styles
        return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255), styles


class StyleTrainer:
    """Fast style transfer (Johnson et al. 2016) for every preset at once (Dumoulin et al. 2017).

    The loss network is VGG16 (genimg/vgg.py), frozen; only the transformation network is trained and saved.
    Loss per image: content_weight * content + style_weight * style (against its own painting's Gram
    matrices, computed once) + tv_weight * total variation, all from genimg/styling.py. The knobs and why:
    MODELS["style"].
    """
    needs_data = True  # train() passes the photo folder: its paintings are the targets
    VAL_SIDE = 192  # validation photos are centre-cropped to this square for the progress grid

    def __init__(self, spec, family, num_classes, device, world, photo_folder):
        self.spec, self.device = spec, device
        styles = [name for name, _ in photo_folder.paintings]
        self.model = build(family, {**spec.get("config", {}), "styles": styles}).to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        # The per-style gammas and betas (all that tells the presets apart) get style_params_lr_scale x the lr.
        style_params = [p for n, p in self.model.named_parameters() if n.endswith((".gamma", ".beta"))]
        shared = [p for n, p in self.model.named_parameters() if not n.endswith((".gamma", ".beta"))]
        self.optimizers = {"opt": torch.optim.Adam(
            [{"params": shared}, {"params": style_params, "lr_scale": spec["style_params_lr_scale"]}],
            spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}  # the VGG is never saved: not in the state, not in the checkpoint
        self.vgg = loss_vgg(spec, device)
        self.vgg_source = self.vgg.source
        self.current_step = 0  # set by the training loop before each step: it picks the phase (see step)
        # Only where the CPU computes bfloat16: elsewhere it is emulated and slower than float32.
        bf16 = spec["loss_bf16"] and device.type == "cpu" and hardware.cpu_computes_bf16()
        self.loss_autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
        grams = [styling.style_grams(self.vgg, styling.to_tensor(p).to(device)) for _, p in photo_folder.paintings]
        self.grams = {k: torch.cat([g[k] for g in grams]) for k in styling.STYLE_LAYERS}  # {layer: (styles, C, C)}

    @staticmethod
    def load_data(spec, data, dry_run, seed, rank, world):
        """Photos shrunk so the long side is photo_side (a crop then shows a good part of a scene), and paintings."""
        if dry_run:
            folder = photos.synthetic_photos()
            made_up = photos.synthetic_photos(n_train=3, n_val=0, seed=1).train
            folder.paintings = [(f"synthetic-{k}", p.astype(np.float32) / 255) for k, p in enumerate(made_up)]
        else:
            folder = photos.load_photos(data, max_side=spec["photo_side"])
            folder.val = [photos.shrink_to(p, spec["photo_side"]) for p in folder.val]
            where = styling.find_paintings(data)
            folder.paintings = [(name, styling.load_painting(where / file)) for name, (file, _, _) in
                                styling.PRESETS.items()]
            folder.source = f"{folder.source} (photos), {where} (paintings)"
        folder.classes = [name for name, _ in folder.paintings]
        crop = min(spec["crop"], 64) if dry_run else spec["crop"]
        return folder, StyleCrops(folder, len(folder.paintings), crop, spec["batch_size"], seed, rank, world)

    def step(self, x, styles, autocast):
        x, styles = x.to(self.device), styles.to(self.device)
        output = self.net(x, self.model.one_hot(styles))
        opt = self.optimizers["opt"]
        if self.current_step < self.spec["reconstruction_steps"]:
            # Phase 1: learn to reproduce the photo (pixel L1, no VGG: 2.5x faster a step). Without it the network
            # must relearn shapes from instance-normalised features under the perceptual loss: after 600 such steps
            # its painted photos were still blurred (README, Style transfer).
            loss = (output - x).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return {"loss": loss.item(), "reconstruction_l1": loss.item()}
        if self.current_step == self.spec["reconstruction_steps"]:
            # Phase 2 starts with fresh Adam moments: the L1 phase's tiny second moments would turn the first
            # perceptual gradients (orders of magnitude larger) into steps that wipe out what phase 1 learned.
            opt.state.clear()
        grams = {k: g[styles] for k, g in self.grams.items()}
        with self.loss_autocast:
            losses = styling.perceptual_losses(self.vgg, output, x, grams)
        content, style, tv = (losses[k].mean() for k in ("content", "style", "tv"))
        loss = self.spec["content_weight"] * content + self.spec["style_weight"] * style + self.spec["tv_weight"] * tv
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "content": content.item(), "style": style.item(), "tv": tv.item()}

    def samples(self, n=64):
        return None

    def export(self):
        return self.model.eval()

    def val_crops(self, photo_folder, count=3):
        return [styling.to_tensor(centre_crop(image, min(self.VAL_SIDE, *image.shape[:2])))
                for image in photo_folder.val[:count]]

    @torch.no_grad()
    def scores(self, crops, grid_path=None):
        """Mean content and style loss of the network's output over crops x styles; optionally a picture:
        one row per crop, the crop then each style."""
        model = self.model.eval()
        content, style, rows = [], [], []
        for crop in crops:
            x = crop.to(self.device).expand(model.num_styles, -1, -1, -1)
            output = model(x, torch.eye(model.num_styles, device=self.device))
            losses = styling.perceptual_losses(self.vgg, output, x, self.grams)
            content.append(losses["content"])
            style.append(losses["style"])
            rows.append(torch.cat([crop[0].to(self.device), *output], dim=2))
        if grid_path is not None:
            picture = torch.cat(rows, dim=1).permute(1, 2, 0).cpu().numpy()
            Image.fromarray(photos.to_uint8(picture)).save(grid_path)
        self.model.train()
        return torch.stack(content).mean(0), torch.stack(style).mean(0)

    def validate(self, photo_folder, run_dir, step):
        content, style = self.scores(self.val_crops(photo_folder), Path(run_dir) / f"samples_{step:06d}.png")
        Image.open(Path(run_dir) / f"samples_{step:06d}.png").save(Path(run_dir) / "samples.png")
        return {"val_content": content.mean().item(), "val_style": style.mean().item()}

    def evaluate(self, photo_folder):
        """Per style: mean content and style loss of the output on the validation photos (centre crops)."""
        content, style = self.scores(self.val_crops(photo_folder, count=len(photo_folder.val)))
        return {"val_images": photo_folder.val_source, "vgg": self.vgg_source,
                "content_layer": styling.CONTENT_LAYER, "style_layers": list(styling.STYLE_LAYERS),
                "per_style": {name: {"content": round(c, 4), "style": round(s, 4)}
                              for name, c, s in zip(self.model.styles, content.tolist(), style.tolist())}}


TRAINERS = {"dcgan": GANTrainer, "cgan": GANTrainer, "vae": VAETrainer, "vae2d": VAETrainer,
            "classifier": ClassifierTrainer, "espcn": SRTrainer, "edsr": SRTrainer, "inpaint": InpaintTrainer,
            "style": StyleTrainer}


def learning_rate(spec, step, total):
    """Classifier and VAEs: short warm-up, then cosine decay to zero. GANs: constant (the EMA smooths them)."""
    if spec["family"] in ("dcgan", "cgan"):
        return spec["lr"]
    warmup = max(1, total // 20)
    if step < warmup:
        return spec["lr"] * (step + 1) / warmup
    return spec["lr"] * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


# ----------------------------------------------------------------------------------------------
# The loop


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise distance between images: falls toward zero when a generator collapses."""
    flat = images.flatten(1).float()
    return torch.pdist(flat).mean().item()


def save_state(path, trainer, step, history, elapsed, meta):
    tensors, groups = {}, {}
    for name, module in trainer.modules.items():
        tensors.update({f"{name}.{k}": v for k, v in unwrap(module).state_dict().items()})
    for name, optimizer in trainer.optimizers.items():
        opt_tensors, groups[name] = optimizer_tensors(name, optimizer)
        tensors.update(opt_tensors)
    info = dict(meta, step=step, history=history, elapsed=elapsed, param_groups=groups)
    checkpoints.save_tensors(path, tensors, metadata={"genimg_state": json.dumps(info)})


def load_state(path, trainer, meta):
    with safe_open(str(path), "pt") as f:
        info = json.loads(f.metadata()["genimg_state"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for key in ("model", "dataset", "seed"):
        if info[key] != meta[key]:
            raise ValueError(f"{path} was saved by a run with {key}={info[key]!r}, not {meta[key]!r}; "
                             f"use another --run-dir or drop --resume.")
    for name, module in trainer.modules.items():
        prefix = name + "."
        unwrap(module).load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, optimizer in trainer.optimizers.items():
        restore_optimizer(name, optimizer, tensors, info["param_groups"][name])
    return info["step"], info["history"], info["elapsed"]


def train(model: str, dataset: str, steps: int | None = None, epochs: float | None = None, device: str = "auto",
          out: str | Path = checkpoints.DEFAULT_DIR, run_dir: str | Path | None = None, resume: bool = False,
          seed: int = 0, data: str | None = None, dry_run: bool = False, sample_every: int = 500,
          save_every: int = 500, log_every: int = 50, command: str = "", quiet: bool = False,
          vgg_weights: str | None = None) -> dict:
    """Train one model on one dataset; write the run folder (state, grids, loss curve) and the checkpoint."""
    if model not in MODELS:
        raise ValueError(f"Unknown model {model!r}; train.py can train: {', '.join(MODELS)}.")
    spec = dict(MODELS[model])
    # A knob given per dataset (a dict) is resolved here, so the card records the one number that was used. The
    # network's `config` is a dict of its own (constructor arguments), the same for every dataset.
    spec = {k: (v.get(dataset, v.get("fashion-mnist")) if isinstance(v, dict) and k != "config" else v)
            for k, v in spec.items()}
    if spec.get("grow_from"):  # a network grown from another checkpoint reads it from the same folder it writes to
        spec["grow_from_dir"] = str(out)
    if vgg_weights:  # only the models with a perceptual or style loss read it
        spec["vgg_weights"] = str(vgg_weights)
    if dry_run:
        spec.update(batch_size=DRY_RUN["batch_size"], dry_run=True)
        steps = steps or DRY_RUN["steps"]
        sample_every, save_every, log_every = DRY_RUN["sample_every"], DRY_RUN["save_every"], 1
    device = resolve_device(device)
    rank, world = init_distributed(device)
    is_main = rank == 0
    name = checkpoint_name(model, dataset)
    run_dir = Path(run_dir or Path("runs") / name)
    state_path = run_dir / "state.safetensors"

    if spec.get("dataset", dataset) != dataset:
        raise ValueError(f"{model} trains on {spec['dataset']}, not {dataset}; use --dataset {spec['dataset']}.")
    trainer_class = TRAINERS[spec["family"]]
    if hasattr(trainer_class, "load_data"):  # photo models (super-resolution) bring their own data and batches
        data_set, batches = trainer_class.load_data(spec, data, dry_run, seed, rank, world)
    else:
        data_set = synthetic_dataset() if dry_run else datasets.load(dataset, data)
        batches = Batches(data_set.train_images, data_set.train_labels, spec["batch_size"], seed, rank, world,
                          augment=shift_and_flip(dataset == "fashion-mnist") if spec["family"] == "classifier" else None)
    if epochs is not None and steps is None:
        steps = max(1, round(epochs * batches.per_epoch))
    total = steps or spec["steps"]
    if "reconstruction_steps" in spec:  # a short run (--steps, --dry-run) still leaves most steps to the style loss
        spec["reconstruction_steps"] = min(spec["reconstruction_steps"], int(0.3 * total))

    seed_everything(seed, -1, 0)  # identical initial weights on every rank
    # The style trainer also needs the data itself at construction: its paintings' Gram matrices are its targets.
    extra = dict(photo_folder=data_set) if getattr(trainer_class, "needs_data", False) else {}
    trainer = trainer_class(spec, spec["family"], len(data_set.classes), device, world, **extra)
    meta = {"model": model, "dataset": dataset, "seed": seed}
    start, history, elapsed = 0, {}, 0.0
    if resume and state_path.is_file():
        start, history, elapsed = load_state(state_path, trainer, meta)
        if is_main and not quiet:
            print(f"Resuming {name} from step {start} ({state_path}).", file=sys.stderr)
    elif resume and is_main and not quiet:
        print(f"No saved state at {state_path}; starting from step 0.", file=sys.stderr)
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    # cpu_bf16 only where the CPU computes bfloat16 (AVX512-BF16, AMX): elsewhere it is emulated, slower than
    # float32. The card records which one ran (training_dtype).
    bf16 = device.type == "cuda" or (spec.get("cpu_bf16", False) and hardware.cpu_computes_bf16())
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    real_diversity = (diversity(datasets.to_float(data_set.test_images[:64]) * 2 - 1)
                      if hasattr(data_set, "test_images") else None)  # photo data sets have no test images
    progress = Progress(total, start, enabled=is_main and not quiet)
    window, t0 = {}, time.time() - elapsed
    for step in range(start, total):
        seed_everything(seed, step, rank)
        lr = learning_rate(spec, step, total)
        for optimizer in trainer.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
        x, labels = batches(step)
        trainer.current_step = step  # the style trainer changes its loss after its reconstruction phase
        losses = trainer.step(x, labels, autocast)
        for k, v in losses.items():
            window.setdefault(k, []).append(v)
        done = step + 1
        if done % log_every == 0 or done == total:
            for k, values in window.items():
                history.setdefault(k, []).append([done, float(np.mean(values))])
            if spec["family"] in ("dcgan", "cgan") and done >= COLLAPSE_CHECK_AFTER and np.mean(window["loss_d"]) < 0.05:
                warn("discriminator loss has fallen to about 0: it wins outright and the generator gets no "
                     "useful gradient. Training has likely collapsed; resume from an earlier state or lower the lr.",
                     history, done)
            window = {}
        progress.update(done, losses)
        if is_main and (done % sample_every == 0 or done == total):
            images = trainer.samples(80 if spec["family"] == "cgan" else 64)
            if images is not None:
                columns = 10 if spec["family"] == "cgan" else 8
                picture = imaging.grid(imaging.to_pil(images.cpu()), columns=columns, scale=2)
                picture.save(run_dir / f"samples_{done:06d}.png")
                picture.save(run_dir / "samples.png")
                ratio = diversity(images.cpu() * 2 - 1) / real_diversity
                history.setdefault("diversity", []).append([done, ratio])
                if spec["family"] in ("dcgan", "cgan") and done >= COLLAPSE_CHECK_AFTER and ratio < 0.5:
                    warn(f"sample diversity fell to {ratio:.2f} of the real data's: the generator is collapsing "
                         f"onto a few outputs (mode collapse).", history, done)
            if hasattr(trainer, "validate"):  # a held-out score as training goes (super-resolution: PSNR on val crops)
                for key, value in trainer.validate(data_set, run_dir, done).items():
                    history.setdefault(key, []).append([done, value])
            curves = {k: v for k, v in history.items()
                      if k not in ("warnings", "diversity") and not k.startswith("val_")}
            imaging.line_plot(curves, title=f"{name}: training losses").save(run_dir / "loss.png")
        if is_main and (done % save_every == 0 or done == total):
            save_state(state_path, trainer, done, history, time.time() - t0, meta)
    progress.close()

    result = {"name": name, "steps": total, "run_dir": str(run_dir)}
    if is_main:
        wall_time = time.time() - t0
        # A dry run re-measures a GAN's batch-norm statistics on 2 batches, not 100 (25,600 images: ~20 s on a CPU).
        module = trainer.export(batches=2) if dry_run and isinstance(trainer, GANTrainer) else trainer.export()
        metrics = trainer.evaluate(data_set)
        final = {k: round(v[-1][1], 4) for k, v in history.items() if k not in ("warnings", "diversity") and v}
        card = {
            "family": spec["family"], "config": {**FAMILIES[spec["family"]][1], **module_config(module)},
            "dataset": dataset, "classes": datasets.class_names(dataset) if dataset in datasets.DATASETS else [],
            "steps": total, "batch_size": spec["batch_size"] * world, "wall_time_s": round(wall_time, 1),
            "device": device_description(device, world), "training_dtype": "bfloat16" if bf16 else "float32",
            "command": command, "seed": seed,
            "hyperparameters": {**{k: v for k, v in spec.items() if k not in ("family", "dry_run", "grow_from_dir")},
                                "steps": total},
            "metrics": {**metrics, "final_losses": final}, "warnings": history.get("warnings", []),
            "genimg_version": __version__, **getattr(trainer, "card_extras", {}),
            "data_source": "synthetic bars (--dry-run): not a usable model" if dry_run else data_set.source,
        }
        path = checkpoints.save(Path(out), name, module.state_dict(), card)
        result.update(path=str(path), metrics=metrics)
        if not quiet:
            print(f"Saved {path} ({path.stat().st_size / 1e6:.2f} MB) after {total} steps in {wall_time / 60:.1f} min; "
                  f"{metrics}", file=sys.stderr)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result


def module_config(module):
    """The constructor arguments that differ per dataset (the class count), read back from the module."""
    if hasattr(module, "config"):  # modules that record their own constructor arguments (the SR networks)
        return dict(module.config)
    if hasattr(module, "head"):
        return {"num_classes": module.head.out_features}
    return {}


def device_description(device: torch.device, world: int) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        threads = torch.get_num_threads()
        name = f"CPU ({threads} thread{'s' if threads > 1 else ''})"
    return f"{world} x {name}" if world > 1 else name
