"""`webcare nlu train`: an intent classifier from Rasa NLU data, saved with its manifest."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path

from bot.artifacts import data_hash
from bot.encoder import TextEncoder
from bot.intent_classifier import IntentClassifier
from bot.nlu_data import NluDataError, read_nlu

HOLDOUT_SHARE = 0.1  # per intent, for the accuracy figure stored in the manifest
# Share of character n-gram evidence in the classifier (bot.lexical); chosen on a held-out slice of
# BANKING77's train.csv, never its test.csv (README, BANKING77).
LEXICAL_WEIGHT = 0.4


def train_nlu_model(
    data: Path, out: Path, encoder: TextEncoder, *, lexical_weight: float = LEXICAL_WEIGHT
) -> str:
    """Train on all of `data`, after measuring accuracy on a 10% split; returns a summary."""
    examples = read_nlu(data)
    intents = {e.intent for e in examples}
    if len(intents) < 2:
        raise NluDataError(f"{data}: needs examples of at least two intents, found {len(intents)}")
    started = time.perf_counter()
    texts = [e.text for e in examples]
    vectors = encoder.encode(texts)
    labels = [e.intent for e in examples]

    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_intent[label].append(i)
    rng = random.Random(13)
    held: list[int] = []
    for indices in by_intent.values():
        if len(indices) >= 5:
            held += rng.sample(indices, max(1, int(len(indices) * HOLDOUT_SHARE)))
    metrics: dict[str, float] = {}
    if held:
        keep = sorted(set(range(len(labels))) - set(held))
        trial = IntentClassifier.fit(
            vectors[keep],
            [labels[i] for i in keep],
            texts=[texts[i] for i in keep],
            lexical_weight=lexical_weight,
        )
        predicted = trial.predict(vectors[held], texts=[texts[i] for i in held])
        hits = sum(p[2][0].name == labels[i] for p, i in zip(predicted, held, strict=True))
        metrics["holdout_accuracy"] = round(hits / len(held), 4)

    classifier = IntentClassifier.fit(vectors, labels, texts=texts, lexical_weight=lexical_weight)
    seconds = time.perf_counter() - started
    classifier.save(
        out,
        model_name=encoder.name,
        dimension=encoder.dimension,
        data_hash=data_hash(f"{e.intent}\t{e.text}" for e in examples),
        metrics=metrics,
        examples=len(examples),
        training_seconds=round(seconds, 2),
    )
    accuracy = metrics.get("holdout_accuracy")
    accuracy_text = f", held-out accuracy {accuracy:.3f}" if accuracy is not None else ""
    return f"{out}: {len(intents)} intents from {len(examples)} examples in {seconds:.1f}s{accuracy_text}"
