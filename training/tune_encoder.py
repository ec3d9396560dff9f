"""Tunes the sentence encoder to one knowledge base: its entries and the conversational intents as labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.nlu_data import Example, load_packaged
from bot.policy import FAQ_PREFIX
from bot.types import FaqEntry
from knowledge_base.answering import CONVERSATIONAL_FILE
from training.finetune import finetune_encoder

# Six passes of the softmax objective over the demo's 3,831 examples (2,619 entry phrasings, the rest
# conversational): 812 s on 2 cores beside light work (four minutes before the demo's long messages were
# added: a batch is padded to its longest).
# On the demo dev set it lifted coverage from 83% to 87% at the same answer threshold (three passes: 86.6%);
# the held-out set's figures are in the README ("An encoder tuned to the knowledge base").
DEFAULT_EPOCHS = 6.0


def tuning_examples(
    entries: Sequence[FaqEntry], extra_conversational: Sequence[Example] = ()
) -> tuple[list[str], list[str]]:
    """(texts, labels) to tune on: every phrasing of every entry as faq/<id>, and the phrasings of the
    conversational intents (greeting, out_of_scope, ...), which the classifier tells entries apart from.
    A phrasing given twice for one label counts once, so phrasings both imported by `webcare rasa import`
    and passed as a file do not weigh double (and the model does not depend on which was done first)."""
    pairs = [(e.text, e.intent) for e in [*load_packaged(CONVERSATIONAL_FILE), *extra_conversational]]
    pairs += [(phrasing, FAQ_PREFIX + entry.id) for entry in entries for phrasing in entry.phrasings]
    seen: set[tuple[str, str]] = set()
    texts, labels = [], []
    for text, label in pairs:
        if (text.casefold(), label) not in seen:
            seen.add((text.casefold(), label))
            texts.append(text)
            labels.append(label)
    return texts, labels


def tune_encoder(
    entries: Sequence[FaqEntry],
    out_dir: Path,
    *,
    epochs: float = DEFAULT_EPOCHS,
    max_seconds: float | None = None,
    extra_conversational: Sequence[Example] = (),
    seed: int = 0,
) -> Path:
    """Fine-tune all-MiniLM-L6-v2 on the knowledge base (softmax over entries and intents) into `out_dir`.

    Entries added after tuning are still encoded by the tuned model, so an edit stays live at once;
    tuning again (minutes) is for when the knowledge base has changed a lot.
    """
    if not entries:
        raise ValueError("the knowledge base has no entries to tune the encoder on")
    texts, labels = tuning_examples(entries, extra_conversational)
    return finetune_encoder(
        texts, labels, out_dir=out_dir, objective="softmax", epochs=epochs, max_seconds=max_seconds, seed=seed
    )
