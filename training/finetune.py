"""Few-shot fine-tuning of the sentence encoder on labelled intents (SetFit-style), saved with a manifest."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from bot.artifacts import data_hash, write_manifest
from bot.encoder import DIMENSION, MAX_TOKENS, MODEL_NAME, packaged_model_dir

KIND = "fine-tuned-encoder"
Objective = Literal["contrastive", "softmax"]


def _batches(
    labels: Sequence[str], *, per_label: int, batch_size: int, rng: random.Random
) -> list[list[int]]:
    """One pass over the data in batches of `per_label` same-intent examples per intent, so every
    example meets positives (same intent) and negatives (other intents) in its batch."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    groups: list[list[int]] = []
    for label in sorted(by_label):
        members = by_label[label][:]
        rng.shuffle(members)
        groups += [members[k : k + per_label] for k in range(0, len(members), per_label)]
    rng.shuffle(groups)
    per_batch = max(1, batch_size // per_label)
    return [
        [i for group in groups[k : k + per_batch] for i in group] for k in range(0, len(groups), per_batch)
    ]


def _contrastive_loss(vectors: Any, targets: Any, scale: float) -> Any:
    """Supervised contrastive loss (in-batch negatives, every same-intent example a positive)."""
    import torch

    sims = vectors @ vectors.T * scale
    self_mask = torch.eye(len(targets), dtype=torch.bool)
    sims = sims.masked_fill(self_mask, float("-inf"))
    positives = (targets[:, None] == targets[None, :]) & ~self_mask
    log_prob = sims - torch.logsumexp(sims, dim=1, keepdim=True)
    counts = positives.sum(dim=1)
    has = counts > 0
    per_anchor = -log_prob.masked_fill(~positives, 0.0).sum(dim=1)[has] / counts[has]
    return per_anchor.mean() if bool(has.any()) else sims.new_zeros(())


def finetune_encoder(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    out_dir: Path,
    objective: Objective = "contrastive",
    epochs: float = 1.0,
    batch_size: int = 64,
    per_label: int = 4,
    learning_rate: float = 3e-5,
    train_layers: int | None = None,
    scale: float = 20.0,
    seed: int = 0,
    max_seconds: float | None = None,
    base_model_dir: Path | None = None,
) -> Path:
    """Fine-tune all-MiniLM-L6-v2 so same-intent texts sit close and others far, save it as a
    sentence-transformers model in `out_dir` (loadable by `TorchEncoder(model_dir=...)`) and return
    `out_dir`. `objective` "contrastive" pulls same-intent texts of a batch together; "softmax" trains
    a cosine classification head over the intents with the encoder unfrozen. `epochs` may be a
    fraction of a pass; `train_layers` trains only the top N transformer layers (None: all); the word
    embeddings stay frozen. `max_seconds` stops early (noted in the manifest)."""
    import torch
    from sentence_transformers import SentenceTransformer

    if len(texts) != len(labels) or len(set(labels)) < 2:
        raise ValueError("fine-tuning needs one label per text and at least two intents")
    random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    base = base_model_dir or packaged_model_dir()
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = MAX_TOKENS
    bert: Any = model[0].auto_model
    for parameter in bert.embeddings.parameters():
        parameter.requires_grad = False
    layers = bert.encoder.layer
    for layer in layers[: len(layers) - (train_layers if train_layers is not None else len(layers))]:
        for parameter in layer.parameters():
            parameter.requires_grad = False
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    targets = torch.tensor([index[label] for label in labels])
    groups: list[dict[str, Any]] = [
        {"params": [p for p in model.parameters() if p.requires_grad], "lr": learning_rate}
    ]
    head = None
    if objective == "softmax":
        # Start the head at each intent's mean vector (a few examples each) so it is useful at once.
        seen: dict[str, list[str]] = {}
        for text, label in zip(texts, labels, strict=True):
            if len(seen.setdefault(label, [])) < 8:
                seen[label].append(text)
        with torch.no_grad():
            means = [model.encode(seen[name], convert_to_tensor=True).mean(dim=0) for name in names]
        head = torch.nn.Parameter(torch.nn.functional.normalize(torch.stack(means), dim=1))
        groups.append({"params": [head], "lr": 1e-3})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    steps_per_epoch = len(_batches(labels, per_label=per_label, batch_size=batch_size, rng=random.Random(0)))
    total = max(1, math.ceil(epochs * steps_per_epoch))
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )

    def stream() -> Iterator[list[int]]:
        while True:
            yield from _batches(labels, per_label=per_label, batch_size=batch_size, rng=rng)

    preprocess = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers 6 / 5
    model.train()
    start, steps, losses = time.perf_counter(), 0, []
    for batch in stream():
        if steps >= total or (max_seconds is not None and time.perf_counter() - start > max_seconds):
            break
        features = preprocess([texts[i] for i in batch])
        vectors = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=1)
        if head is None:
            loss = _contrastive_loss(vectors, targets[batch], scale)
        else:
            logits = vectors @ torch.nn.functional.normalize(head, dim=1).T * scale
            loss = torch.nn.functional.cross_entropy(logits, targets[batch])
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        steps += 1
    seconds = time.perf_counter() - start
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir), create_model_card=False)
    write_manifest(
        out_dir,
        kind=KIND,
        model_name=MODEL_NAME,
        dimension=DIMENSION,
        base_model=str(base),
        data_hash=data_hash(f"{label}\x1e{text}" for text, label in zip(texts, labels, strict=True)),
        examples=len(texts),
        labels=names,
        params={
            "objective": objective,
            "epochs": epochs,
            "batch_size": batch_size,
            "per_label": per_label,
            "learning_rate": learning_rate,
            "train_layers": train_layers,
            "scale": scale,
            "seed": seed,
            "max_seconds": max_seconds,
        },
        steps=steps,
        planned_steps=total,
        stopped_early=steps < total,
        train_seconds=round(seconds, 2),
        first_loss=losses[0] if losses else None,
        last_loss=sum(losses[-10:]) / len(losses[-10:]) if losses else None,
    )
    return out_dir
