"""Who may do what in which project. Every check runs on the server, through here."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from annotate.models import ROLE_RANK, Membership, Role
from flywheel.models import Project

# A user or AnonymousUser; typed loosely because request.user is a union the stubs can't narrow.
User = Any
# Where a project object fetched for one request remembers the caller's role (a changed
# membership counts from the next request on, which fetches the project again).
ROLES_SEEN = "_roles_seen"


def role_in(*, user: User, project: Project) -> Role | None:
    """The user's role. Free when the project came from :func:`project_with_role` for this user."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    known = project.__dict__.get(ROLES_SEEN, {})
    if user.pk in known:
        return Role(known[user.pk]) if known[user.pk] else None
    membership = Membership.objects.filter(user=user, project=project).only("role").first()
    return Role(membership.role) if membership else None


def project_with_role(*, project_id: int, user: User) -> Project | None:
    """The project and the user's role in it, in one query (``role_in`` then asks nothing)."""
    projects = Project.objects.filter(pk=project_id)
    member = user.is_authenticated and not getattr(user, "is_superuser", False)
    if member:
        role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
        projects = projects.annotate(member_role=Subquery(role))
    project = projects.first()
    if project is not None and member:
        project.__dict__[ROLES_SEEN] = {user.pk: project.__dict__.pop("member_role") or ""}
    return project


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
