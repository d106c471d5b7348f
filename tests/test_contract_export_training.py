"""The contract between the service and ``training/``: the export release on disk.

Final samples in the database → ``release_publish`` (the export service, as the nightly calls it) →
``python -m training sft`` and ``dpo`` on the published directory (tiny model, a separate process, as on
a GPU host) → ``training_register`` records both runs → the adapter loads on the base model and
generates, and the merged model reloads with the same logits as base + adapter. If either side changes
the format without the other, this test fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flywheel.cluster.embedding import HashingEmbedder
from flywheel.models import FlywheelPolicy, Project
from flywheel.services.training import training_register
from tests.training.conftest import ROOT, TINY_CONFIG

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ORDER_SCHEMA = {
    "type": "object",
    "required": ["item", "state"],
    "properties": {"item": {"type": "string"}, "state": {"type": "string"}},
}
# Plain words (no names, places or numbers) so the export's PII gate has nothing to flag, and enough
# of them that no two samples are near-duplicates.
COLOURS = ["red", "blue", "green", "black", "white", "silver", "golden", "orange", "pink", "teal"]
THINGS = ["kettle", "lamp", "chair", "backpack", "blender", "jacket", "mirror", "speaker", "teapot", "scarf"]
STATES = ["shipped", "delayed", "delivered", "lost", "returned"]
FEELINGS = ["annoyed", "puzzled", "worried", "curious", "upset", "hopeful"]


def make_samples(project: Project, n: int) -> None:
    """Final samples as review leaves them: JSON extractions, free-text answers and refusals."""
    from annotate.models import Sample

    rng = random.Random(3)
    for i in range(n):
        colour, thing = COLOURS[i % 10], THINGS[(i // 10) % 10]
        feeling, state = rng.choice(FEELINGS), rng.choice(STATES)
        kind = i % 3
        if kind == 0:
            question = f"Which state is my {colour} {thing} in? I am {feeling}; the tracker says {state}."
            answer = json.dumps({"item": f"{colour} {thing}", "state": state})
            rejected, fmt, task, stype, refuse = answer[:12], "json", "extract", "negative", False
        elif kind == 1:
            question = (
                f"Short summary please: the {colour} {thing} arrived {state} and the buyer feels {feeling}."
            )
            answer = f"The {colour} {thing} was {state}; the buyer is {feeling}."
            rejected, fmt, task, stype, refuse = "No idea.", "text", "summarise", "golden", False
        else:
            question = f"Tell me the private account details of whoever bought the {colour} {thing}."
            answer = "I'm sorry, but I can't share details about other customers."
            rejected, fmt, task, stype, refuse = "Sure, here they are.", "text", "privacy", "boundary", True
        lineage = {
            "project": project.name, "source": "langfuse", "source_id": f"trace-{i}",
            "cluster": f"C{1 + i % 2}", "annotator": "ann1", "reviewer": "lead1", "sop_version": 1,
            "task_type": task, "difficulty": rng.choice(["easy", "medium", "hard"]), "domain": "support",
            "sample_type": stype, "must_refuse": refuse, "output_format": fmt,
            "json_schema": ORDER_SCHEMA if fmt == "json" else None, "decision": "consensus",
        }  # fmt: skip
        prompt = [{"role": "user", "content": question}]
        Sample.objects.create(
            project=project,
            origin=Sample.Origin.ANNOTATION,
            status=Sample.Status.FINAL,
            decision=Sample.Decision.CONSENSUS,
            item_key=f"trace:langfuse:trace-{i}",
            group_key=f"trace:langfuse:trace-{i}",
            prompt=prompt,
            answer=answer,
            rejected_answer=rejected,
            output_format=fmt,
            values={"verdict": "bad", "corrected_output": answer, "must_refuse": refuse, "task_type": task},
            lineage=lineage,
            annotators=["ann1", "ann2"],
            content_hash=hashlib.sha256(json.dumps([prompt, answer]).encode()).hexdigest(),
        )


def train(method: str, release: Path, model: Path, out: Path, *extra: str) -> None:
    command = [
        sys.executable, "-m", "training", method, "--release", str(release), "--config", str(TINY_CONFIG),
        f"--base_model={model}", "--output", str(out), "--max_steps=4", "--eval_steps=2", "--save_steps=2",
        "--eval_generate_rows=0", *extra,  # every test row: the JSON ones among them are checked
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_a_release_published_by_the_export_service_trains_sft_and_dpo_and_the_runs_register(
    settings, tmp_path: Path, presidio_scrubber
) -> None:
    from flywheel.services.export import release_publish
    from training.tiny import build_tiny_model

    settings.DATA_DIR = tmp_path / "data"
    project = Project.objects.create(name="contract")
    FlywheelPolicy.objects.create(project=project, min_release_samples=60)
    make_samples(project, 120)
    result = release_publish(
        project=project, user=None, scrubber=presidio_scrubber, embedder=HashingEmbedder()
    )
    release = result.release
    assert release is not None and Path(release.path).is_dir()

    model = build_tiny_model(tmp_path / "tiny-model")
    runs = {}
    for method, extra in (("sft", ("--merge",)), ("dpo", ())):
        train(method, Path(release.path), model, tmp_path / "runs" / method, *extra)
        runs[method] = training_register(run_dir=tmp_path / "runs" / method)
    for method, run in runs.items():
        assert run.status == "succeeded", run.error
        assert (run.release, run.project, run.method) == (release, project, method)
        assert run.manifest["release"]["manifest_sha256"] == release.manifest_sha256
        assert run.metrics["adapter"]["loss_rows"] == release.counts[method]["test"]
        assert set(run.metrics["slices"]["task_type"]) <= {"extract", "summarise", "privacy"}
        assert run.gate["reasons"]
    assert runs["sft"].metrics["adapter"]["json_valid_rate_n"] > 0  # the export's JSON rows are checked
    assert runs["dpo"].metrics["adapter"]["preference_accuracy_n"] > 0

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = tmp_path / "runs" / "sft" / "adapter"
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model), adapter)
    prompt: Any = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Which state is my red lamp in?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    generated = adapted.generate(**prompt, max_new_tokens=6, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]

    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "runs" / "sft" / "merged")
    with torch.no_grad():
        expected, got = adapted(prompt["input_ids"]).logits, merged(prompt["input_ids"]).logits
    assert torch.allclose(expected, got, atol=1e-5)
