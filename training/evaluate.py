"""Evaluation on the release's test split: answer loss / perplexity and generation-based checks.

``model_evaluate`` scores one model (the base with the adapter switched off, the adapter, or a
previously promoted adapter) on the same rows and returns one ``RowResult`` per row;
``metrics_summarize`` turns any subset of them into metrics, which is how the per-slice tables
(by cluster, task_type, source, difficulty) are built. The val split is not used here: it serves
early stopping only.

- ``eval_loss``: mean negative log-likelihood of the golden answer's tokens given the prompt
  (token-weighted over rows), ``perplexity = exp(eval_loss)``.
- generation checks (greedy decoding, ``eval_max_new_tokens``) on a fixed, seeded sample of
  ``eval_generate_rows`` rows: see ``training.checks``.
- DPO releases also get ``preference_accuracy``: the share of rows where the model gives the chosen
  answer a higher mean per-token log-likelihood than the rejected one (per token, so a rejected answer
  does not win merely by being shorter, as broken JSON cut mid-way often is).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.checks import answer_checks, compile_refusal_patterns
from training.config import EvalSettings, GateSettings, RunConfig
from training.data import PreparedSplit, golden_answer
from training.gate import FAIL, metric_check
from training.modeling import stop_token_ids

SLICE_DIMENSIONS = ("cluster", "task_type", "source", "difficulty")
RATE_NAMES = {
    "json_valid": "json_valid_rate",
    "schema_pass": "schema_pass_rate",
    "exact_match": "exact_match_rate",
    "refusal_correct": "refusal_accuracy",
}


@dataclass
class RowResult:
    nll: float | None = None  # summed over the answer's tokens
    tokens: int = 0
    checks: dict[str, bool] = field(default_factory=dict)
    preferred: bool | None = None  # DPO rows: chosen more likely (per token) than rejected
    answer: str | None = None


def sample_indices(n: int, limit: int, seed: int = 0) -> list[int]:
    """A fixed subset (the same for every model compared), all rows when ``limit`` is 0."""
    if limit <= 0 or limit >= n:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), limit))


def _chat_ids(tokenizer: Any, messages: list[dict[str, Any]], *, generation_prompt: bool) -> list[int]:
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, add_generation_prompt=generation_prompt
    )
    return list(encoded["input_ids"])


def _answer_nll(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[list[Any], list[Any]]], batch_size: int
) -> list[tuple[float, int]]:
    """(summed NLL, token count) of each answer given its prompt.

    Rows are left-padded, so every answer ends at the last position, and the model returns the logits of
    the last (longest answer + 1) positions only (``logits_to_keep``): the full [batch, length, vocab]
    tensor of a 150k-vocabulary model would take gigabytes.
    """
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id or 0
    out: list[tuple[float, int]] = []
    for start in range(0, len(pairs), batch_size):
        seqs: list[tuple[list[int], int]] = []
        for prompt, answer in pairs[start : start + batch_size]:
            prompt_ids = _chat_ids(tokenizer, prompt, generation_prompt=True)
            full = _chat_ids(tokenizer, [*prompt, *answer], generation_prompt=False)
            # The answer starts where prompt and prompt+answer diverge (as TRL computes it).
            pairs_ = zip(prompt_ids, full, strict=False)
            cut = next((i for i, (a, b) in enumerate(pairs_) if a != b), len(prompt_ids))
            seqs.append((full, max(cut, 1)))
        width = max(len(ids) for ids, _ in seqs)
        keep = max(len(ids) - cut for ids, cut in seqs) + 1
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in seqs], device=device)
        attention = torch.tensor(
            [[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in seqs], device=device
        )
        # Positions count real tokens only, as in generate(), so padding does not shift them.
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = model(
                input_ids=input_ids, attention_mask=attention, position_ids=positions, logits_to_keep=keep
            ).logits[:, -keep:]
            for row, (ids, cut) in enumerate(seqs):
                n = len(ids) - cut
                targets = torch.tensor(ids[cut:], device=device)
                nll = torch.nn.functional.cross_entropy(
                    logits[row, -n - 1 : -1].float(), targets, reduction="sum"
                )
                out.append((float(nll), n))
    return out


def _generate(
    model: Any, tokenizer: Any, prompts: Sequence[list[Any]], settings: EvalSettings, stop_ids: list[int]
) -> list[str]:
    import torch

    device = next(model.parameters()).device
    answers: list[str] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    for start in range(0, len(prompts), settings.eval_batch_size):
        batch = [
            _chat_ids(tokenizer, p, generation_prompt=True)
            for p in prompts[start : start + settings.eval_batch_size]
        ]
        width = max(len(ids) for ids in batch)
        # Left padding: every prompt ends where generation begins.
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
        with torch.inference_mode():
            generated = model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                max_new_tokens=settings.eval_max_new_tokens,
                do_sample=False,
                eos_token_id=stop_ids,
                pad_token_id=pad,
            )
        answers += tokenizer.batch_decode(generated[:, width:], skip_special_tokens=True)
    return answers


def model_evaluate(
    model: Any,
    tokenizer: Any,
    split: PreparedSplit,
    settings: EvalSettings,
    *,
    stop_ids: list[int],
    loss_rows: Sequence[int],
    generate_rows: Sequence[int],
) -> list[RowResult]:
    """Score ``model`` on the given test rows (golden answer: SFT ``completion``, DPO ``chosen``)."""
    was_training = model.training
    model.eval()
    results = [RowResult() for _ in split.rows]
    golden = [golden_answer(row) for row in split.rows]
    scored = _answer_nll(
        model, tokenizer, [(split.rows[i]["prompt"], golden[i]) for i in loss_rows], settings.eval_batch_size
    )
    for i, (nll, tokens) in zip(loss_rows, scored, strict=True):
        results[i].nll, results[i].tokens = nll, tokens
    dpo_rows = [i for i in loss_rows if "rejected" in split.rows[i]]
    if dpo_rows:
        rejected = _answer_nll(
            model,
            tokenizer,
            [(split.rows[i]["prompt"], split.rows[i]["rejected"]) for i in dpo_rows],
            settings.eval_batch_size,
        )
        for i, (nll, tokens) in zip(dpo_rows, rejected, strict=True):
            chosen = (results[i].nll or 0.0) / max(results[i].tokens, 1)
            results[i].preferred = chosen < nll / max(tokens, 1)
    patterns = compile_refusal_patterns(settings.refusal_patterns)
    answers = _generate(
        model, tokenizer, [split.rows[i]["prompt"] for i in generate_rows], settings, stop_ids
    )
    for i, answer in zip(generate_rows, answers, strict=True):
        results[i].answer = answer
        results[i].checks = answer_checks(answer, golden[i][0]["content"], split.metas[i], patterns)
    model.train(was_training)
    return results


def metrics_summarize(results: Sequence[RowResult]) -> dict[str, Any]:
    scored = [r for r in results if r.nll is not None]
    tokens = sum(r.tokens for r in scored)
    loss = sum(r.nll or 0.0 for r in scored) / tokens if tokens else None
    metrics: dict[str, Any] = {
        "eval_loss": loss,
        "perplexity": math.exp(min(loss, 700.0)) if loss is not None else None,
        "loss_rows": len(scored),
        "generated_rows": sum(r.answer is not None for r in results),
    }
    for check, name in RATE_NAMES.items():
        values = [r.checks[check] for r in results if check in r.checks]
        metrics[name] = sum(values) / len(values) if values else None
        metrics[f"{name}_n"] = len(values)
    preferences = [r.preferred for r in results if r.preferred is not None]
    if preferences:
        metrics["preference_accuracy"] = sum(preferences) / len(preferences)
        metrics["preference_accuracy_n"] = len(preferences)
    return metrics


def slices_build(
    results: dict[str, list[RowResult]], metas: Sequence[dict[str, Any]], gate: GateSettings
) -> dict[str, dict[str, Any]]:
    """Per dimension and value: row count, each model's metrics, the gated metrics the adapter regressed."""
    slices: dict[str, dict[str, Any]] = {}
    for dim in SLICE_DIMENSIONS:
        groups: dict[str, list[int]] = {}
        for i, meta in enumerate(metas):
            groups.setdefault(str(meta.get(dim) if meta.get(dim) is not None else "(none)"), []).append(i)
        slices[dim] = {}
        for value, rows in sorted(groups.items()):
            entry: dict[str, Any] = {"rows": len(rows)}
            for name, model_results in results.items():
                entry[name] = metrics_summarize([model_results[i] for i in rows])
            entry["regressed"] = [
                m
                for m in gate.gate_metrics
                if metric_check(m, entry["base"].get(m), entry["adapter"].get(m), gate).status == FAIL
            ]
            slices[dim][value] = entry
    return slices


def models_compare(
    model: Any, tokenizer: Any, test: PreparedSplit, config: RunConfig, baseline_adapter: Path | None
) -> dict[str, Any]:
    """Adapter, base (adapter off) and optional baseline adapter, scored on the same test rows.

    ``model`` is the trained PeftModel; the baseline is loaded beside the new adapter and removed after.
    """
    settings, seed = config.eval, config.train.seed
    rows = {
        "loss_rows": sample_indices(len(test.rows), settings.eval_loss_rows, seed),
        "generate_rows": sample_indices(len(test.rows), settings.eval_generate_rows, seed),
    }
    stop = stop_token_ids(tokenizer)
    results: dict[str, list[RowResult]] = {}
    results["adapter"] = model_evaluate(model, tokenizer, test, settings, stop_ids=stop, **rows)
    with model.disable_adapter():
        results["base"] = model_evaluate(model, tokenizer, test, settings, stop_ids=stop, **rows)
    if baseline_adapter is not None:
        model.load_adapter(str(baseline_adapter), adapter_name="baseline")
        model.set_adapter("baseline")
        results["baseline"] = model_evaluate(model, tokenizer, test, settings, stop_ids=stop, **rows)
        model.set_adapter("default")
        model.delete_adapter("baseline")
    summary: dict[str, Any] = {name: metrics_summarize(r) for name, r in results.items()}
    return {
        "base": summary["base"],
        "adapter": summary["adapter"],
        "baseline": summary.get("baseline"),
        "slices": slices_build(results, test.metas, config.gate),
        "test": test.stats(),
        "examples": _examples(results, test),
    }


def _examples(
    results: dict[str, list[RowResult]], test: PreparedSplit, limit: int = 20
) -> list[dict[str, Any]]:
    """Rows where the adapter failed a check, for error analysis next to the slice tables."""
    found = []
    for i, (base, adapter) in enumerate(zip(results["base"], results["adapter"], strict=True)):
        if adapter.answer is not None and not all(adapter.checks.values()):
            found.append(
                {
                    "id": test.metas[i].get("id"),
                    "adapter_checks": adapter.checks,
                    "base_checks": base.checks,
                    "reference": golden_answer(test.rows[i])[0]["content"],
                    "adapter_answer": adapter.answer,
                    "base_answer": base.answer,
                }
            )
    return found[:limit]
