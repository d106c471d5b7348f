"""Pieces the labeling queue and the review share."""

from __future__ import annotations

import hashlib

from annotate.models import SOP, LabelingPolicy
from flywheel.errors import InvalidInput, NotFound
from flywheel.models import Project


class LabelInvalid(InvalidInput):
    """A submitted label broke the SOP's schema; ``errors`` maps field name to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        fields = ", ".join(sorted(errors))
        super().__init__(
            f"The label is not valid ({fields}).", hint="Fix the fields marked and submit again."
        )
        self.errors = errors


def policy_for(project: Project) -> LabelingPolicy:
    policy, _ = LabelingPolicy.objects.get_or_create(project=project)
    return policy


def queue_settings(project: Project) -> tuple[LabelingPolicy, SOP]:
    """The labeling policy and the current SOP, in one query (next-task asks on every call).

    Read, not cached: a lead's new SOP version or policy change applies to the very next lease.
    """
    from annotate.services.sops import NO_SOP, NO_SOP_HINT

    sop = (
        SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED)
        .select_related("project__labeling_policy")
        .order_by("-version")
        .first()
    )
    if sop is None:
        raise NotFound(NO_SOP.format(project=project.name), hint=NO_SOP_HINT)
    try:
        policy = sop.project.labeling_policy
    except LabelingPolicy.DoesNotExist:
        policy = policy_for(project)
    sop.project = project
    return policy, sop


def stable_share(key: str, *, salt: str) -> float:
    """A number in [0, 1) fixed by ``key``: the same item is chosen (or not) however often it is asked.

    Salted, so that two choices made this way (overlap, review sample) are independent.
    """
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32
