"""Who is asking: the authenticated user behind a command or a query."""

from dataclasses import dataclass

SYSTEM_EMAIL = "system"


@dataclass(frozen=True)
class Actor:
    user_id: str
    email: str
    is_admin: bool = False
