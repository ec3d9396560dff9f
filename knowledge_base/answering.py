"""Builds the answer engine for a set of published entries: index, classifiers, policy."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.artifacts import ArtifactError, data_hash
from bot.encoder import TextEncoder
from bot.intent_classifier import IntentClassifier
from bot.nlu_data import Example, NluDataError, load_packaged, read_nlu
from bot.normalise import TextNormaliser
from bot.other_companies import OtherCompanies, OtherServices
from bot.pipeline import AnswerEngine, IntentRanker
from bot.policy import FAQ_PREFIX, PolicyConfig, policy_for
from bot.replies import Replies
from bot.sensitive import NONE, SensitiveDetector
from bot.types import FaqEntry
from knowledge_base.index import FaqIndex
from knowledge_base.vector_cache import encode_cached, last_used, least_recently_used

CONVERSATIONAL_FILE = "conversational.yml"
# Share of the character n-gram classifier (bot.lexical) in the intent classifier's blend, which only
# decides among the FAQ entries (the conversational intents keep the embeddings' probabilities: blended,
# short small talk lost confidence). Measured on the dev set; the policy's calibrations are fitted with it.
ENGINE_LEXICAL_WEIGHT = 0.4
# Its logistic regression grows with intents x n-grams: over the demo's 2,619 phrasings (20,929 n-grams)
# 4.6 s for 56 labels, 15.2 s for 268, 23.9 s for 532 (2 cores, 2026-11-30). Above this many intents the
# engine uses the embeddings alone, so a large knowledge base still starts in seconds.
LEXICAL_MAX_LABELS = 300
# Fitted classifiers kept in the cache directory: the most recently used, and any used within the hour (an
# engine has two; a server switching encoders, or processes sharing the directory on other knowledge
# bases, such as a test run's servers, use more at once and would otherwise fit them again).
CLASSIFIERS_KEPT = 16
CLASSIFIERS_KEPT_SECONDS = 3600


def fit_cached(
    vectors: np.ndarray,
    labels: Sequence[str],
    texts: Sequence[str],
    cache_dir: Path | None,
    encoder: TextEncoder,
    **params: Any,
) -> IntentClassifier:
    """Fit a classifier, or load the one fitted before on exactly these texts, labels and params, in any
    order."""
    # Fitted in one order, whatever the caller's: a knowledge base read from its file (`webcare answer --kb`,
    # `webcare evaluate`) and the same one read from the database (the server) list their phrasings in
    # different orders, which gave two classifiers, each fitted in seconds, that differed in the last digits.
    order = sorted(range(len(labels)), key=lambda i: (labels[i], texts[i]))
    vectors, labels, texts = vectors[order], [labels[i] for i in order], [texts[i] for i in order]
    if cache_dir is None:
        return IntentClassifier.fit(vectors, labels, texts=texts, **params)
    # Keys sorted at every depth: the sensitive detector's class weights are a dict built from a set,
    # whose order changes from process to process, so its repr missed the cache at every start.
    key = data_hash([encoder.name, json.dumps(params, sort_keys=True), *labels, *texts])
    directory = cache_dir / f"classifier-{key}"
    if (directory / "manifest.json").is_file():
        try:
            classifier = IntentClassifier.load(
                directory, model_name=encoder.name, dimension=encoder.dimension
            )
        except ArtifactError:
            pass  # damaged cache entry: fit again and overwrite it
        else:
            with contextlib.suppress(OSError):
                os.utime(directory)  # recently used: pruning keeps it
            return classifier
    classifier = IntentClassifier.fit(vectors, labels, texts=texts, **params)
    classifier.save(directory, model_name=encoder.name, dimension=encoder.dimension, data_hash=key)
    _prune_classifiers(cache_dir)
    return classifier


def _prune_classifiers(cache_dir: Path) -> None:
    """Delete the fitted classifiers neither among the most recently used nor used within the hour: every
    full build on a changed knowledge base fits new ones (the intent classifier with its n-grams is
    several MB)."""
    recent = time.time() - CLASSIFIERS_KEPT_SECONDS
    for old in least_recently_used(cache_dir.glob("classifier-*"), keep=CLASSIFIERS_KEPT):
        if last_used(old) < recent:
            shutil.rmtree(old, ignore_errors=True)  # another process may have pruned it already


def train_intent_classifier(
    index: FaqIndex,
    conversational: Sequence[Example],
    conversational_vectors: np.ndarray,
    cache_dir: Path | None,
    encoder: TextEncoder,
) -> IntentClassifier:
    """FAQ entries as retrieval intents (faq/<id>) next to the conversational intents, with character
    n-gram evidence blended in (ENGINE_LEXICAL_WEIGHT)."""
    vectors, labels, texts = intent_training_set(index, conversational, conversational_vectors)
    weight = ENGINE_LEXICAL_WEIGHT if len(set(labels)) <= LEXICAL_MAX_LABELS else 0.0
    return fit_cached(
        vectors, labels, texts, cache_dir, encoder, lexical_weight=weight, lexical_within=FAQ_PREFIX
    )


def intent_training_set(
    index: FaqIndex, conversational: Sequence[Example], conversational_vectors: np.ndarray
) -> tuple[np.ndarray, list[str], list[str]]:
    """(vectors, labels, texts) the intent classifier learns from."""
    faq_vectors, owners, faq_texts = index.phrasing_vectors()
    vectors = np.vstack([conversational_vectors, faq_vectors])
    labels = [e.intent for e in conversational] + [FAQ_PREFIX + owner for owner in owners]
    texts = [e.text for e in conversational] + faq_texts
    return vectors, labels, texts


def conversational_examples(
    encoder: TextEncoder, cache_dir: Path | None, extra: Sequence[Example] = ()
) -> tuple[list[Example], np.ndarray]:
    """The conversational intents' phrasings (packaged plus `extra`) and their vectors."""
    conversational = [*load_packaged(CONVERSATIONAL_FILE), *extra]
    return conversational, encode_cached(encoder, [e.text for e in conversational], cache_dir)


def read_conversational(paths: Sequence[Path]) -> list[Example]:
    """Extra phrasings of our conversational intents from Rasa NLU YAML files (e.g. out_of_scope questions
    that need a person), as `webcare rasa import` adds them to a served engine; an intent that is not one
    of ours is refused by name, since it would otherwise be trained on silently."""
    ours = sorted({e.intent for e in load_packaged(CONVERSATIONAL_FILE)})
    examples = []
    for path in paths:
        for example in read_nlu(path):
            if example.intent not in ours:
                raise NluDataError(
                    f"{path}: intent {example.intent!r} is not one of ours ({', '.join(ours)}); "
                    "FAQ entries belong in the knowledge base"
                )
            examples.append(example)
    return examples


def train_sensitive_detector(
    index: FaqIndex,
    conversational: Sequence[Example],
    conversational_vectors: np.ndarray,
    cache_dir: Path | None,
    encoder: TextEncoder,
) -> SensitiveDetector:
    """Sensitive categories against everything ordinary: FAQ phrasings and small talk."""
    sensitive = SensitiveDetector.training_examples()
    sensitive_vectors = encode_cached(encoder, [e.text for e in sensitive], cache_dir)
    # Complaints and requests for a person are handled by the intent classifier; as "none"
    # they would teach the detector that anger is never sensitive, so they stay out.
    ordinary = [i for i, e in enumerate(conversational) if e.intent not in ("complaint",)]
    faq_vectors, _, faq_texts = index.phrasing_vectors()
    vectors = np.vstack([sensitive_vectors, conversational_vectors[ordinary], faq_vectors])
    labels = [e.intent for e in sensitive] + [NONE] * (len(ordinary) + len(faq_vectors))
    # "none" weighs as much as all sensitive categories together: per-class balancing would
    # make ten small categories outvote the ordinary class and flag routine questions.
    sensitive_count = sum(label != NONE for label in labels)
    weights = {label: 1.0 for label in set(labels)}
    weights[NONE] = sensitive_count / (len(labels) - sensitive_count)
    texts = [e.text for e in sensitive] + [conversational[i].text for i in ordinary] + faq_texts
    return SensitiveDetector(
        fit_cached(vectors, labels, texts, cache_dir, encoder, c=10.0, class_weight=weights)
    )


def build_engine(
    entries: Sequence[FaqEntry],
    encoder: TextEncoder,
    *,
    cache_dir: Path | None = None,
    config: PolicyConfig | None = None,
    replies: Replies | None = None,
    index: FaqIndex | None = None,
    intents: IntentRanker | None = None,
    extra_conversational: Sequence[Example] = (),
    other_companies: Sequence[str] = (),
) -> AnswerEngine:
    """The engine for `entries` (an index may be passed in when it is already built); `intents` is an
    external NLU (Rasa) that ranks intents instead of our classifier, and `extra_conversational` are
    phrasings of our conversational intents imported from elsewhere (`webcare rasa import`);
    `other_companies` are names of other brands whose products are not ours to answer for."""
    index = index or FaqIndex.build(entries, encoder, cache_dir=cache_dir)
    conversational, conversational_vectors = conversational_examples(encoder, cache_dir, extra_conversational)
    return AnswerEngine(
        encoder=encoder,
        retriever=index,
        classifier=train_intent_classifier(index, conversational, conversational_vectors, cache_dir, encoder),
        sensitive=train_sensitive_detector(index, conversational, conversational_vectors, cache_dir, encoder),
        config=config or policy_for(encoder.name),
        replies=replies or Replies(),
        intents=intents,
        normalise=normaliser_for(entries, conversational),
        other_companies=OtherCompanies(other_companies) if other_companies else None,
        other_services=OtherServices(
            text for e in entries for text in (e.question, e.answer, *e.variants.values())
        ),
    )


def normaliser_for(entries: Sequence[FaqEntry], conversational: Sequence[Example]) -> TextNormaliser:
    """Corrects typos towards the words of every phrasing the models learn from, so a phrasing an
    editor adds is never itself "corrected" away from the text that was indexed."""
    texts = [e.text for e in conversational] + list(_sensitive_texts())
    for entry in entries:
        texts += [entry.question, *entry.examples]
    return TextNormaliser(texts)


@lru_cache(maxsize=1)
def _sensitive_texts() -> tuple[str, ...]:
    # Packaged data: read once per process, not at every publish.
    return tuple(e.text for e in SensitiveDetector.training_examples())
