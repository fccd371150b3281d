"""Training the super-resolution networks: aligned (low, high) patch pairs, the L1 trainer, the recipes."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from ... import photos
from ...family import Trainer
from ...training import centre_crop, start_from
from . import upscaling
from .network import deepen


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


class SRTrainer(Trainer):
    """Super-resolution: L1 loss between the network's output and the original patch.

    L1 rather than L2 (EDSR's finding): L2 is dominated by the few large errors at edges and averages the
    rest into blur; L1 weighs every error alike and converges to sharper results with better PSNR.
    """
    VAL_CROP = 192  # high-resolution side of the centre crops scored during training (divisible by 2 and 4)

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        spec = recipe
        if spec.get("grow_from"):
            self.model, self.card_extras["grown_from"] = self.grown(spec, family)
        else:
            self.model = family.build(spec.get("config"))
        self.model = self.model.to(device)
        # Only one scale's head runs per step: DDP must allow the other's parameters to go unused.
        self.net = DistributedDataParallel(self.model, find_unused_parameters=True) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}

    @staticmethod
    def grown(spec, family):
        """The network deepened from a trained shallower checkpoint (`grow_from`), and what the card says of it."""
        config = spec.get("config") or {}
        shallow, origin = start_from(spec, family, {k: v for k, v in config.items() if k != "blocks"})
        return deepen(shallow, family.full_config(config)["blocks"]), origin

    @staticmethod
    def load_data(spec, family, dataset, data, dry_run, seed, rank, world):
        """Photos (train.py --data, or synthetic ones for --dry-run) and the batches cut from them."""
        folder = photos.synthetic_photos() if dry_run else photos.load_photos(data)
        patch = min(spec["patch"], 16) if dry_run else spec["patch"]
        scales = family.full_config(spec.get("config"))["scales"]
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


# Super-resolution on photos: `patch` is the low-resolution crop side; both scales share a body. scale_turns:
# the order in which batches take the scales; x4 gets two turns in three (the harder scale, and the one
# furthest from its target). cpu_bf16: bfloat16 autocast on a CPU that computes it (an EDSR step 1.8x faster
# with AVX512-BF16; the bicubic base and the loss stay float32). sr-quality is EDSR-baseline's 16 blocks grown
# from sr-quality-base's 8 (see network.deepen): 16 blocks from scratch need more steps than a 2-core CPU
# gives. On a GPU, raise the steps 10-100x and train the 16 blocks from scratch.
RECIPES = {
    "sr-fast": dict(family="espcn", dataset="photos", steps=4000, batch_size=16, patch=48, lr=1e-3,
                    betas=(0.9, 0.999)),
    "sr-quality-base": dict(family="edsr", dataset="photos", steps=10500, batch_size=16, patch=48, lr=5e-4,
                            betas=(0.9, 0.999), scale_turns=[2, 4, 4], cpu_bf16=True),
    "sr-quality": dict(family="edsr", dataset="photos", config={"blocks": 16}, grow_from="sr-quality-base",
                       steps=5000, batch_size=16, patch=48, lr=2e-4, betas=(0.9, 0.999), scale_turns=[2, 4, 4],
                       cpu_bf16=True),
}
