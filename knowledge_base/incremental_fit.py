"""Refits only the changed entries' rows of the intent classifier, so a new phrasing is live in seconds."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from bot.intent_classifier import IntentClassifier


def refit_rows(
    previous: IntentClassifier,
    vectors: np.ndarray,
    labels: Sequence[str],
    changed: Collection[str],
    *,
    c: float = 20.0,
) -> IntentClassifier:
    """`previous` with the rows of `changed` labels (and of labels it never had) fitted again.

    A full multinomial fit over a thousand entries takes 10-25 s here; this solves the same
    objective as IntentClassifier.fit (balanced class weights, L2 with strength 1/c, intercepts
    free) over the changed rows only, holding every other row at its trained value, which is a
    few hundred parameters per changed entry. Rows of labels no longer present are dropped.
    """
    # Imported here, on a publish: at module level scipy.optimize cost every process that serves an
    # engine (server, worker, command) about 0.7 s of start-up.
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    names = sorted(set(labels))
    position = {name: i for i, name in enumerate(names)}
    old = {name: i for i, name in enumerate(previous.labels)}
    free = [position[n] for n in names if n in changed or n not in old]
    fixed = [position[n] for n in names if n not in changed and n in old]
    y = np.array([position[label] for label in labels])
    counts = np.bincount(y, minlength=len(names))
    weights = len(y) / (len(names) * counts[y])  # sklearn's class_weight="balanced"
    x = np.asarray(vectors, dtype=np.float64)
    dimension = x.shape[1]

    coef = np.zeros((len(names), dimension), dtype=np.float64)
    intercept = np.full(len(names), float(np.mean(previous.intercept)), dtype=np.float64)
    for name, i in old.items():
        if name in position:
            coef[position[name]] = previous.coef[i]
            intercept[position[name]] = previous.intercept[i]
    if not free:
        return _classifier(previous, names, coef, intercept, changed)

    # The fixed rows enter every sample's softmax only through one log-sum-exp, computed once
    # (in float32: it is the one large product, samples x entries x dimension).
    product = np.asarray(vectors, dtype=np.float32) @ coef[fixed].T.astype(np.float32)
    fixed_logits = product.astype(np.float64) + intercept[fixed]
    fixed_lse = logsumexp(fixed_logits, axis=1) if fixed else np.full(len(x), -np.inf)
    column = np.full(len(names), -1)
    column[fixed] = np.arange(len(fixed))
    rows_of = np.arange(len(x))
    target_fixed = np.where(column[y] >= 0, fixed_logits[rows_of, np.maximum(column[y], 0)], 0.0)
    free_column = np.full(len(names), -1)
    free_column[free] = np.arange(len(free))
    onehot = np.zeros((len(x), len(free)))
    in_free = free_column[y] >= 0
    onehot[rows_of[in_free], free_column[y][in_free]] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        rows = theta.reshape(len(free), dimension + 1)
        logits = x @ rows[:, :dimension].T + rows[:, dimension]
        top = np.maximum(fixed_lse, logits.max(axis=1))
        lse = top + np.log(np.exp(fixed_lse - top) + np.exp(logits - top[:, None]).sum(axis=1))
        target = np.where(in_free, (logits * onehot).sum(axis=1), target_fixed)
        loss = float(weights @ (lse - target)) + 0.5 / c * float((rows[:, :dimension] ** 2).sum())
        residual = weights[:, None] * (np.exp(logits - lse[:, None]) - onehot)
        gradient = np.hstack([residual.T @ x + rows[:, :dimension] / c, residual.sum(axis=0)[:, None]])
        return loss, gradient.ravel()

    start = np.hstack([coef[free], intercept[free][:, None]]).ravel()
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    rows = result.x.reshape(len(free), dimension + 1)
    coef[free], intercept[free] = rows[:, :dimension], rows[:, dimension]
    return _classifier(previous, names, coef, intercept, changed)


def _classifier(
    previous: IntentClassifier,
    names: list[str],
    coef: np.ndarray,
    intercept: np.ndarray,
    changed: Collection[str],
) -> IntentClassifier:
    # The character n-gram classifier is not refitted here (seconds, not milliseconds): the changed rows do
    # without its evidence (labels it never saw do anyway) until the whole classifier is refitted in the
    # background (app.engine_service) or at the next full build; every other row keeps it.
    stale = previous.lexical_stale | {name for name in names if name in changed}
    return IntentClassifier(
        tuple(names),
        coef.astype(np.float32),
        intercept.astype(np.float32),
        previous.fallback_threshold,
        previous.lexical,
        previous.lexical_weight,
        frozenset(stale) if previous.lexical is not None else frozenset(),
        previous.lexical_within,
    )
