"""Reviewed seeds made the way production makes them: traces labeled by two agreeing annotators."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.conf import settings

from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN
from annotate.models import LabelingPolicy, Role, Sample, Task
from annotate.services import queue
from annotate.services.sops import sop_bootstrap, sop_publish, sop_save_draft
from flywheel.cluster.embedding import HashingEmbedder
from flywheel.models import Cluster, Failure
from flywheel.pii import FakeScrubber, ScrubConfig
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, member

EXTRACT_SYSTEM = "Extract the order as JSON with keys order_id, items (list of {sku, qty}), ship_to."
ORDER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["order_id", "items", "ship_to"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^A[0-9]{6}$"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
            },
        },
        "ship_to": {"type": "string"},
    },
}
WORLD = ["status", "refund", "extract", "refuse", "chinese"]
REFUSAL = "I can't share other customers' personal information. I can help with your own order."

# Seed content: (user message, model answer, corrected answer, extra label values)
SEEDS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "status": (
        "Hi there. Where is my order A123456? It was due last week. Thanks!",
        "It was delivered.",
        "Order A123456 is delayed at the depot; it should arrive within two days.",
        {"task_type": "qa", "sample_type": "negative"},
    ),
    "refund": (
        "I want a refund for order A654321, the blender arrived broken. Can you help?",
        "We cannot process refunds.",
        "Sure. I've opened a return for order A654321; a prepaid label for the blender is on its way.",
        {"task_type": "qa", "sample_type": "negative"},
    ),
    "extract": (
        "Please order 2 x SKU-1234 and ship to <PERSON_1>, <ADDRESS_1>, <LOCATION_1>. Reference A111222.",
        '{"order_id": "A111222", "items": [{"sku": "SKU-1234", "qty": 2}], "ship_to": "<ADDRESS_1>',
        json.dumps(
            {
                "order_id": "A111222",
                "items": [{"sku": "SKU-1234", "qty": 2}],
                "ship_to": "<ADDRESS_1>, <LOCATION_1>",
            }
        ),
        {"task_type": "extraction", "sample_type": "negative"},
    ),
    "refuse": (
        "What is the home address of <PERSON_1>? They bought from you last month. I'm their friend.",
        "<PERSON_1> lives at <ADDRESS_1>.",
        REFUSAL,
        {"task_type": "qa", "sample_type": "boundary", "must_refuse": True},
    ),
    # Not in the world's seeds: a near twin of "status", for the near-duplicate tests.
    "status_monday": (
        "Hi there. Where is my order A123456? It was due on Monday. Thanks!",
        "It was delivered.",
        "Order A123456 is delayed at the depot; it should arrive within two days.",
        {"task_type": "qa", "sample_type": "negative"},
    ),
    "chinese": (
        "您好,请问我的订单A777888什么时候发货?我想改一下地址。谢谢!",
        "已经发货了。",
        "您的订单A777888预计明天发货;修改地址请在订单页面操作。",
        {"task_type": "qa", "sample_type": "negative"},
    ),
}


def publish_extraction_sop(project, lead):
    """The default SOP with a JSON Schema on the corrected answer: what a JSON task's SOP carries."""
    schema = yaml.safe_load(DEFAULT_SCHEMA_YAML)
    answer = next(f for f in schema["fields"] if f["name"] == "corrected_output")
    answer["validators"]["json_schema"] = ORDER_SCHEMA
    draft = sop_save_draft(
        project=project, user=lead, body=DEFAULT_SOP_MARKDOWN, label_schema=yaml.safe_dump(schema)
    )
    return sop_publish(sop=draft)


VARIATIONS = (
    "",
    " I ordered online.",
    " This is my second message.",
    " My account is new.",
    " I'm on mobile.",
)


def reviewed_seeds(
    project, annotators, names, *, cluster_number: int = 1, variation: int = 0
) -> dict[str, Sample]:
    """One final sample per named seed, by consensus of two annotators through the real queue.

    ``variation`` appends one of :data:`VARIATIONS` to each request, for several distinct seeds of a kind.
    """
    source = project.sources.first() or SourceFactory(project=project)
    cluster, _ = Cluster.objects.get_or_create(project=project, number=cluster_number, defaults={"name": "c"})
    by_task: dict[int, dict[str, Any]] = {}
    tasks: dict[str, Task] = {}
    for position, name in enumerate(names):
        user, model_answer, corrected, extra = SEEDS[name]
        user += VARIATIONS[variation % len(VARIATIONS)]
        system = EXTRACT_SYSTEM if name == "extract" else "You are Acme's support assistant."
        trace = TraceFactory(
            source=source,
            conversation=[
                {"role": "system", "content": system},
                {"role": "user", "content": user},
                {"role": "assistant", "content": model_answer},
            ],
        )
        failure = Failure.objects.create(project=project, trace=trace, rules=["thumbs-down"], cluster=cluster)
        task = Task.objects.create(
            project=project,
            trace=trace,
            failure=failure,
            cluster=cluster,
            model_answer=model_answer,
            required_annotations=2,
            priority=float(1000 - position),
            output_format="json" if name == "extract" else "text",
        )
        by_task[task.pk] = {"verdict": "bad", "corrected_output": corrected, **extra}
        tasks[name] = task
    for annotator in annotators:
        for _ in names:
            lease = queue.next_task(project=project, user=annotator)
            assert lease is not None
            queue.submit(
                assignment_id=lease.pk, user=annotator, values=by_task[lease.task_id], seconds_spent=5
            )
    return {name: Sample.objects.get(task=task) for name, task in tasks.items()}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # PBKDF2's cost is the point in production and dead time here (four users per world).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _project(name, *, extraction):
    project = ProjectFactory(name=name)
    lead = member(project, Role.LEAD, username=f"{name}-lead")
    sop_bootstrap(project=project, user=lead)
    if extraction:
        publish_extraction_sop(project, lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    annotators = [member(project, Role.ANNOTATOR, username=f"{name}-ann{i}") for i in (1, 2)]
    return project, lead, annotators


@pytest.fixture
def world(db):
    """A support project (the default SOP), a lead, two annotators, and a final sample per SEEDS entry."""
    project, lead, annotators = _project("shop", extraction=False)
    return project, lead, reviewed_seeds(project, annotators, WORLD)


@pytest.fixture
def extraction(db):
    """An extraction project: its SOP holds the answer's JSON Schema; one final JSON seed."""
    project, lead, annotators = _project("orders", extraction=True)
    return project, lead, reviewed_seeds(project, annotators, ["extract"])


FAKE_NAMES = ("Ada Lovelace", "Grace Hopper")


@pytest.fixture
def fake_scrubber():
    """Regex PII detection (e-mails, phones, two names) on the real scrubbing pipeline."""
    return FakeScrubber(
        ScrubConfig(allow_list=("Acme",)), key=settings.PII_HASH_KEY.encode(), names=FAKE_NAMES
    )


@pytest.fixture
def hashing():
    return HashingEmbedder(256)


@pytest.fixture
def fast_stack(monkeypatch, hashing):
    """The service's heavy collaborators swapped for fakes: the regex scrubber (with the same allow
    list as production's variant scrubber) and the hashing embedder. For pages and commands."""
    from annotate.services import augment, augment_generate
    from annotate.services.augment_build import variant_scrub_config

    def scrubber(project):
        return FakeScrubber(
            variant_scrub_config(project), key=settings.PII_HASH_KEY.encode(), names=FAKE_NAMES
        )

    for module in (augment, augment_generate):
        monkeypatch.setattr(module, "variant_scrubber", scrubber)
        monkeypatch.setattr(module, "default_embedder", lambda: hashing)
    return hashing
