"""``{% is_lead project as lead %}``: whether the signed-in user leads the project (for navigation only;
every view checks the role again on the server)."""

from __future__ import annotations

from typing import Any

from django import template

from annotate.access import has_role
from annotate.models import Role

register = template.Library()


@register.simple_tag(takes_context=True)
def is_lead(context: template.Context, project: Any) -> bool:
    request = context.get("request")
    if request is None or project is None:
        return False
    cache: dict[int, bool] = request.__dict__.setdefault("_lead_of", {})
    if project.pk not in cache:
        cache[project.pk] = has_role(user=request.user, project=project, at_least=Role.LEAD)
    return cache[project.pk]
