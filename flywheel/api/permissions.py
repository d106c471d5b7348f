from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from annotate.access import has_role
from annotate.models import Role
from flywheel.models import Project


def project_from(view: Any) -> Project:
    if not hasattr(view, "_project"):
        view._project = get_object_or_404(Project, pk=view.kwargs["project_id"])
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
