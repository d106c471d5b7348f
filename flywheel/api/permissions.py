from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from annotate.access import has_role, project_with_role
from annotate.models import Role
from flywheel.models import Project


def project_from(view: Any) -> Project:
    """The URL's project, looked up once per request together with the caller's role in it."""
    if not hasattr(view, "_project"):
        request = getattr(view, "request", None)
        user = getattr(request, "user", None)
        project = (
            project_with_role(project_id=view.kwargs["project_id"], user=user)
            if user is not None
            else Project.objects.filter(pk=view.kwargs["project_id"]).first()
        )
        if project is None:
            raise Http404("No such project.")
        view._project = project
    return view._project


class ProjectRole(BasePermission):
    """Grants access to users holding at least ``view.required_role`` in the URL's project.

    Anonymous users get 401/403 from DRF; signed-in non-members get 404, so they do not learn
    which projects exist; members without the role get 403.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        project = project_from(view)
        if has_role(user=request.user, project=project, at_least=view.required_role):
            return True
        if has_role(user=request.user, project=project, at_least=Role.ANNOTATOR):
            return False
        raise Http404
