from __future__ import annotations

from typing import Any, cast

import factory
from django.contrib.auth import get_user_model

from annotate.models import Membership, Role
from flywheel.models import Project, Trace, TraceSource


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):  # factory_boy passes the built object
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"project-{n}")


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TraceSource

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"source-{n}")
    base_url = "http://127.0.0.1:1"
    public_key = "pk-lf-test"
    secret_key_env = "TEST_LANGFUSE_SECRET"


def standin_source(standin: Any, secret_key_env: str, **fields: Any) -> TraceSource:
    """A Langfuse source reading the stand-in ``standin`` (its URL and public key; the secret key
    from the environment variable ``secret_key_env``, which the test sets)."""
    return cast(
        TraceSource,
        SourceFactory(
            base_url=standin.base_url, public_key=standin.public_key, secret_key_env=secret_key_env, **fields
        ),
    )


class TraceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trace

    source = factory.SubFactory(SourceFactory)
    project = factory.SelfAttribute("source.project")
    external_id = factory.Sequence(lambda n: f"trace-{n:06d}")
    name = "support-chat"
    conversation = factory.LazyFunction(
        lambda: [
            {"role": "user", "content": "Where is my order?"},
            {"role": "assistant", "content": "On its way."},
        ]
    )


def member(project, role: Role, **kwargs):
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, project=project, role=role)  # type: ignore[misc]
    return user
