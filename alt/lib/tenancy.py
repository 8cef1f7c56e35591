"""Workspace scoping for every tenant model (ACC-2, SEC-3).

Application code reads tenant rows only through `Model.objects.for_workspace(workspace)`.
`Model.objects.all()`, `.filter()`, `.get()` and friends raise `UnscopedQueryError`, so forgetting
the scope fails loudly in the first test that touches the code path instead of leaking data.

Django's own machinery (related-object access, deletion, the admin for staff, ModelForm field
construction) uses the default manager `all_workspaces`, which is unscoped on purpose; a test
checks that application modules (views, services, tasks) never name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from alt.accounts.models import Workspace

M = TypeVar("M", bound=models.Model)


class UnscopedQueryError(RuntimeError):
    """A tenant model was queried without `for_workspace(...)`."""


class TenantQuerySet(models.QuerySet[M], Generic[M]):
    def for_workspace(self, workspace: Workspace) -> TenantQuerySet[M]:
        return self.filter(workspace=workspace)

    def get_or_404(self, what: str, /, **lookup: int | str) -> M:
        """The one row of this (already scoped) queryset matching `lookup`, or Http404 "No such
        <what>". An id of another workspace and an id that is not a number are the same 404, so a
        URL never tells which ids exist (ACC-2). Every `access_*` helper ends here."""
        if any(isinstance(value, str) and not value.isdigit() for value in lookup.values()):
            raise Http404(f"No such {what}")
        row = self.filter(**lookup).first()
        if row is None:
            raise Http404(f"No such {what}")
        return row


class TenantManager(models.Manager[M], Generic[M]):
    """The manager application code uses: every query must start from a workspace.

    Models with their own queryset methods use `TenantManager.from_queryset(TheirQuerySet)()`,
    where TheirQuerySet subclasses TenantQuerySet; those methods also need a scope first.
    """

    _queryset_class = TenantQuerySet

    def get_queryset(self) -> TenantQuerySet[M]:
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects must be scoped: use "
            f"{self.model.__name__}.objects.for_workspace(workspace)."
        )

    def _queryset(self) -> TenantQuerySet[M]:
        # _queryset_class is TenantQuerySet, or a subclass given to TenantManager.from_queryset().
        return self._queryset_class(model=self.model, using=self._db)

    def for_workspace(self, workspace: Workspace) -> TenantQuerySet[M]:
        if workspace is None:
            raise UnscopedQueryError(f"{self.model.__name__}: for_workspace(None)")
        return self._queryset().for_workspace(workspace)

    def none(self) -> TenantQuerySet[M]:
        """An empty queryset: a form field's placeholder until it is scoped (WorkspaceFormMixin)."""
        return self._queryset().none()

    def create(self, **kwargs: Any) -> M:
        if kwargs.get("workspace") is None and kwargs.get("workspace_id") is None:
            raise UnscopedQueryError(f"{self.model.__name__}.objects.create needs a workspace")
        return self._queryset().create(**kwargs)


class TenantModel(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=True
    )

    # Framework machinery (admin for staff, relations, deletion, forms) uses the first, unscoped
    # manager; application code uses `objects`, which insists on a workspace.
    all_workspaces = models.Manager()
    objects: TenantManager[Any] = TenantManager()

    class Meta:
        abstract = True
        default_manager_name = "all_workspaces"


class WorkspaceFormMixin:
    """Limits every choice field over a tenant model to the request's workspace.

    ModelForm builds its choice fields from the default (unscoped) manager; without this a select
    box would list another workspace's rows.
    """

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        for field in self.fields.values():  # type: ignore[attr-defined]
            queryset = getattr(field, "queryset", None)
            if queryset is not None and issubclass(queryset.model, TenantModel):
                field.queryset = queryset.model.objects.for_workspace(workspace)
