"""Optional fine-tuning of the transformer encoder on the routing losses (off by default: slow on CPU).

The encoder and a temporary dual-contrastive head are trained end to end (BCE on recorded quality + RouterDC's
sample–LLM loss, small learning rate for the encoder) with early stopping on a validation slice of train. The tuned
encoder is saved like any ``AutoModel`` folder (safetensors + tokenizer); routers are then trained on its frozen
embeddings as usual, so inference is unchanged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router_plugins.errors import ConfigError
from router_plugins.replay import OutcomeTable
from router_plugins.scorer.encoders import default_encoder_path
from router_plugins.scorer.training import TrainConfig, _build_net, validation_mask


@dataclass
class FinetuneConfig:
    """Hyper-parameters of encoder fine-tuning."""

    epochs: int = 3
    batch_size: int = 16
    encoder_lr: float = 2e-5
    head_lr: float = 1e-3
    max_length: int = 256
    w_sample_llm: float = 0.5
    val_fraction: float = 0.1
    seed: int = 0
    progress: bool = True


def _pool(model: Any, tok: Any, texts: list[str], max_length: int) -> Any:
    import torch

    batch = tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1)  # as TransformerEncoder.encode


def finetune_encoder(train: OutcomeTable, out_dir: str | Path, *, base: str | Path | None = None,
                     config: FinetuneConfig | None = None) -> dict[str, Any]:
    """Fine-tune the encoder in ``base`` (default all-MiniLM-L6-v2) on ``train`` and save it to ``out_dir``."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModel, AutoTokenizer

    from router_plugins.scorer.losses import masked_bce, sample_llm_contrastive

    cfg = config or FinetuneConfig()
    src = Path(base) if base is not None else default_encoder_path()
    if not (src / "config.json").is_file():
        raise ConfigError(f"fine-tuning needs a transformers encoder folder; {str(src)!r} has no config.json")
    torch.manual_seed(cfg.seed)
    tok = AutoTokenizer.from_pretrained(str(src))
    tok.truncation_side = "left"
    model = AutoModel.from_pretrained(str(src))
    texts, y = list(train.texts), torch.tensor(train.quality, dtype=torch.float32)
    head = _build_net(int(model.config.hidden_size), len(train.models), TrainConfig(kind="dc"))
    opt = torch.optim.AdamW([{"params": model.parameters(), "lr": cfg.encoder_lr},
                             {"params": head.parameters(), "lr": cfg.head_lr}], weight_decay=1e-4)
    val = validation_mask(len(texts), cfg.val_fraction, cfg.seed)
    tr, va = np.flatnonzero(~val), np.flatnonzero(val)
    rng = np.random.default_rng(cfg.seed)

    def val_bce() -> float:
        model.eval()
        head.eval()
        losses = []
        with torch.inference_mode():
            for s in range(0, len(va), 64):
                idx = va[s:s + 64]
                logits, _ = head(_pool(model, tok, [texts[i] for i in idx], cfg.max_length))
                losses.append(float(masked_bce(logits, y[idx])) * len(idx))
        return sum(losses) / max(len(va), 1)

    start = time.perf_counter()
    history = [val_bce()] if len(va) else []
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    best_epoch = 0
    for epoch in range(cfg.epochs):
        model.train()
        head.train()
        order = tr[rng.permutation(len(tr))]
        for s in tqdm(range(0, len(order), cfg.batch_size), desc=f"fine-tune encoder {epoch + 1}/{cfg.epochs}",
                      disable=not cfg.progress, leave=False):
            idx = order[s:s + cfg.batch_size]
            logits, _ = head(_pool(model, tok, [texts[i] for i in idx], cfg.max_length))
            loss = masked_bce(logits, y[idx]) + cfg.w_sample_llm * sample_llm_contrastive(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if len(va):
            history.append(val_bce())
            if history[-1] < min(history[:-1]) - 1e-4:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best_epoch = epoch + 1
    if not len(va):
        best_state, best_epoch = model.state_dict(), cfg.epochs
    model.load_state_dict(best_state)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    info = {"base": str(src), "trained_on": train.name, "n_train": int(len(tr)), "best_epoch": best_epoch,
            "val_bce_by_epoch": history, "seconds": round(time.perf_counter() - start, 1),
            "config": cfg.__dict__}
    (out / "router_plugins_finetune.json").write_text(json.dumps(info, indent=2))
    return info
