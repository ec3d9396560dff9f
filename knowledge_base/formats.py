"""Knowledge-base files: Webcare YAML, CSV and Rasa retrieval-intent YAML, read and written."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.nlu_data import dump_yaml, examples_block, load_yaml_text, parse_examples_block
from bot.types import CHANNELS, FaqEntry
from knowledge_base.schema import KbFormatError, entry_to_dict, parse_entries

CSV_COLUMNS = ("id", "question", "answer", "examples", "tags", *(f"answer_{c}" for c in CHANNELS))
LIST_SEPARATOR = "|"  # examples and tags inside one CSV cell
RASA_PREFIX = "faq/"
# Rasa names channels after its connectors; ours are the platforms' own names.
RASA_CHANNELS = {
    "x": "twitter",
    "messenger": "facebook",
    "instagram": "instagram",
    "whatsapp": "whatsapp",
}


def detect_format(path: Path, text: str | None = None) -> str:
    """'yaml', 'csv' or 'rasa', from the extension and, for YAML, the top-level keys."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        if text is None:
            return "yaml"
        try:
            data = load_yaml_text(text)
        except yaml.YAMLError:
            return "yaml"  # the YAML reader reports the syntax error with its position
        if isinstance(data, dict) and ("nlu" in data or "responses" in data):
            return "rasa"
        return "yaml"
    raise KbFormatError([f"{path}: unknown file type {suffix or '(none)'}; use .yaml, .yml or .csv"])


def read_kb_file(path: Path) -> list[FaqEntry]:
    """Every entry in a knowledge-base file, validated; KbFormatError names each problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KbFormatError([f"{path}: no such file"]) from exc
    except IsADirectoryError as exc:
        raise KbFormatError([f"{path}: is a directory; give a .yaml, .yml or .csv file"]) from exc
    except OSError as exc:
        raise KbFormatError([f"{path}: cannot be read: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise KbFormatError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    kind = detect_format(path, text)
    return parse_kb_text(text, kind, source=str(path))


def parse_kb_text(text: str, kind: str, *, source: str) -> list[FaqEntry]:
    """Entries from the text of a file of `kind` ('yaml', 'csv' or 'rasa')."""
    text = text.removeprefix("\ufeff")  # the byte-order mark spreadsheet programs put before UTF-8
    if kind == "csv":
        return parse_entries(_csv_rows(text, source), source)
    try:
        data = load_yaml_text(text)
    except yaml.YAMLError as exc:
        raise KbFormatError([f"{source}: not valid YAML: {exc}"]) from exc
    if kind == "rasa":
        return parse_entries(_rasa_rows(data, source), source)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise KbFormatError([f"{source}: expected a top-level 'entries:' list"])
    extra = sorted(set(data) - {"entries"})
    if extra:
        raise KbFormatError([f"{source}: unknown top-level key(s) {', '.join(map(str, extra))}"])
    return parse_entries(data["entries"], source)


def _csv_rows(text: str, source: str) -> list[dict[str, Any]]:
    # strict: a quote left open is an error, not a cell that swallows every row after it
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise KbFormatError([f"{source}: line {reader.line_num}: not valid CSV ({exc})"]) from exc
    missing = [c for c in ("id", "question", "answer") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"{source}: header lacks column(s) {', '.join(missing)}")
        if unknown:
            problems.append(
                f"{source}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"
            )
        raise KbFormatError(problems)
    rows = []
    records = iter(reader)
    while True:
        start = reader.line_num + 1
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as exc:
            raise KbFormatError(
                [f"{source}: line {start}: not valid CSV ({exc}); is a quote left open?"]
            ) from exc
        if None in record:  # cells beyond the header's: an answer with an unquoted comma, most likely
            raise KbFormatError(
                [
                    f"{source}: line {start}: {len(header) + len(record[None])} cells, the header has "
                    f"{len(header)}; put text holding commas in double quotes"
                ]
            )
        record = {(k or "").strip(): (v or "") for k, v in record.items()}
        row: dict[str, Any] = {k: record[k] for k in ("id", "question", "answer") if k in record}
        for name in ("examples", "tags"):
            cell = record.get(name, "")
            row[name] = [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]
        row["variants"] = {
            c: record[f"answer_{c}"] for c in CHANNELS if record.get(f"answer_{c}", "").strip()
        }
        rows.append(row)
    return rows


def _rasa_rows(data: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise KbFormatError([f"{source}: expected Rasa YAML with 'nlu:' and 'responses:'"])
    if not isinstance(data.get("nlu") or [], list):
        raise KbFormatError([f"{source}: 'nlu:' must be a list of '- intent: faq/<id>' items"])
    if not isinstance(data.get("responses") or {}, dict):
        raise KbFormatError([f"{source}: 'responses:' must map each 'utter_faq/<id>' to a list of texts"])
    by_id: dict[str, dict[str, Any]] = {}
    for item in data.get("nlu") or []:
        if not isinstance(item, dict) or not str(item.get("intent", "")).startswith(RASA_PREFIX):
            continue
        faq_id = str(item["intent"])[len(RASA_PREFIX) :]
        texts = parse_examples_block(str(item.get("examples") or ""))
        row = by_id.setdefault(faq_id, {"id": faq_id, "examples": []})
        if texts and "question" not in row:
            row["question"], texts = texts[0], texts[1:]
        row["examples"].extend(texts)
        metadata = item.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("tags"), list):
            row["tags"] = metadata["tags"]
    responses = data.get("responses") or {}
    from_channel = {v: k for k, v in RASA_CHANNELS.items()}
    for name, variants in responses.items():
        if not str(name).startswith("utter_" + RASA_PREFIX):
            continue
        faq_id = str(name)[len("utter_" + RASA_PREFIX) :]
        row = by_id.setdefault(faq_id, {"id": faq_id, "examples": []})
        for variant in variants or []:
            if not isinstance(variant, dict):
                continue
            channel = variant.get("channel")
            if channel:
                row.setdefault("variants", {})[from_channel.get(channel, channel)] = variant.get("text")
            elif "answer" not in row:
                row["answer"] = variant.get("text")
    if not by_id:
        raise KbFormatError([f"{source}: no retrieval intents 'faq/<id>' found"])
    return list(by_id.values())


def render_kb(entries: Sequence[FaqEntry], kind: str) -> str:
    """The text of a knowledge-base file of `kind` holding `entries`."""
    if kind == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for entry in entries:
            row = {
                "id": entry.id,
                "question": entry.question,
                "answer": entry.answer,
                "examples": LIST_SEPARATOR.join(entry.examples),
                "tags": LIST_SEPARATOR.join(entry.tags),
            }
            row.update({f"answer_{c}": text for c, text in entry.variants.items()})
            writer.writerow(row)
        return out.getvalue()
    if kind == "rasa":
        return dump_yaml(rasa_document(entries))
    return dump_yaml({"entries": [entry_to_dict(e) for e in entries]})


def rasa_document(entries: Sequence[FaqEntry]) -> dict[str, Any]:
    """Rasa 3 retrieval-intent data: nlu `faq/<id>` and responses `utter_faq/<id>`."""
    nlu = []
    responses: dict[str, list[dict[str, str]]] = {}
    for entry in entries:
        item: dict[str, Any] = {
            "intent": RASA_PREFIX + entry.id,
            "examples": examples_block(entry.phrasings),
        }
        if entry.tags:
            item["metadata"] = {"tags": list(entry.tags)}
        nlu.append(item)
        variants = [{"text": entry.answer}]
        variants += [{"text": text, "channel": RASA_CHANNELS[c]} for c, text in entry.variants.items()]
        responses[f"utter_{RASA_PREFIX}{entry.id}"] = variants
    return {"version": "3.1", "nlu": nlu, "responses": responses}


def export_format(path: Path) -> str:
    """The format a file name asks for when exporting."""
    name = path.name.lower()
    if name.endswith(".csv"):
        return "csv"
    if not name.endswith((".yaml", ".yml")):
        raise KbFormatError([f"{path}: unknown file type; use .yaml, .yml or .csv"])
    return "rasa" if "nlu" in name or "rasa" in name else "yaml"


def write_kb_file(path: Path, entries: Sequence[FaqEntry], kind: str | None = None) -> None:
    """Write `entries` to `path` as `kind`, or as its name implies: .csv, Rasa (a name with
    'nlu' or 'rasa', e.g. nlu.yml), else Webcare YAML."""
    kind = kind or export_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_kb(entries, kind), encoding="utf-8")
