"""Who may do what on a dataset: the roles, their ranking, and the one check every command
and query goes through.

A dataset the caller has no role on does not exist for them (DatasetNotFound, never
Forbidden, so ids cannot be probed); a role too low for the request is Forbidden. Admins act
as owners of every dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.errors import DatasetNotFound, Forbidden


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


ROLES = tuple(role.value for role in Role)
_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def role_of(roles: Mapping[str, str], user_id: str, *, is_admin: bool = False) -> str | None:
    return Role.OWNER.value if is_admin else roles.get(user_id)


def allows(role: str | None, need: Role) -> bool:
    """Whether ``role`` (None: no role at all) is ``need`` or higher."""
    return role is not None and _RANK[Role(role)] >= _RANK[need]


def check(role: str | None, need: Role, dataset_id: object) -> None:
    """DatasetNotFound without a role, Forbidden with one too low for ``need``."""
    if role is None:
        raise DatasetNotFound(dataset_id)
    if not allows(role, need):
        raise Forbidden(
            f"Your role on dataset {dataset_id} does not allow this; it needs the {need} role."
        )


def abilities(role: str) -> dict[str, bool]:
    """What a role lets its holder do, as the UI shows it (``GET .../access``)."""
    return {"can_edit": allows(role, Role.EDITOR), "can_share": allows(role, Role.OWNER)}
