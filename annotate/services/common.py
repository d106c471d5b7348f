"""Pieces the labeling queue and the review share."""

from __future__ import annotations

import hashlib

from annotate.models import LabelingPolicy
from flywheel.errors import InvalidInput
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


def stable_share(key: str, *, salt: str) -> float:
    """A number in [0, 1) fixed by ``key``: the same item is chosen (or not) however often it is asked.

    Salted, so that two choices made this way (overlap, review sample) are independent.
    """
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32
