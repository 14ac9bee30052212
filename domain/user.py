"""Users and the email index that keeps emails unique."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import email_index_id, user_id_for_api_key

USER_ROLES = ("admin", "user")


class User(Aggregate):
    TOPIC = "snapset:User"

    @staticmethod
    def create_id(api_key: str) -> UUID:
        return user_id_for_api_key(api_key)

    @event("Created", topic="snapset:User.Created")
    def __init__(self, api_key: str, api_secret: str, email: str, role: str, at: datetime) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.email = email
        self.role = role
        self.registered_at = at

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserEmail(Aggregate):
    """Index aggregate: its id is a uuid5 of the email, so a second user with it collides."""

    TOPIC = "snapset:UserEmail"

    @staticmethod
    def create_id(email: str) -> UUID:
        return email_index_id(email)

    @event("Created", topic="snapset:UserEmail.Created")
    def __init__(self, email: str, user_id: UUID) -> None:
        self.email = email
        self.user_id = user_id
