"""Who may do what in which project. Every check runs on the server, through here."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from annotate.models import ROLE_RANK, Membership, Role
from flywheel.models import Project

# A user or AnonymousUser; typed loosely because request.user is a union the stubs can't narrow.
User = Any


def role_in(*, user: User, project: Project) -> Role | None:
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    membership = Membership.objects.filter(user=user, project=project).only("role").first()
    return Role(membership.role) if membership else None


def has_role(*, user: User, project: Project, at_least: Role) -> bool:
    role = role_in(user=user, project=project)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[at_least]


def projects_for(*, user: User, at_least: Role = Role.ANNOTATOR) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if getattr(user, "is_superuser", False):
        return Project.objects.all()
    allowed = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[at_least]]
    return Project.objects.filter(memberships__user=user, memberships__role__in=allowed).distinct()
