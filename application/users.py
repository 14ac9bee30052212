"""Users: registration with an API key and secret, lookup by key (for tokens) and by email."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict, Invalid, UserNotFound
from domain.ids import email_index_id, user_id_for_api_key
from domain.user import USER_ROLES, User, UserEmail


class UsersMixin:
    """User commands and queries, mixed into the Datasets application."""

    repository: Any
    save: Any

    def register_user(self, email: str, role: str = "user") -> tuple[str, str]:
        """Create a user; returns (api_key, api_secret). The secret is shown only now."""
        email = email.strip()
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise Invalid(f"{email!r} is not an email address.")
        if role not in USER_ROLES:
            raise Invalid(f"The user role must be one of {', '.join(USER_ROLES)}.")
        # Hex, so a key or secret never starts with "-" (a command line would read it as an
        # option) and needs no quoting in a shell.
        api_key = secrets.token_hex(16)
        api_secret = secrets.token_hex(32)
        user = User(
            api_key=api_key, api_secret=api_secret, email=email, role=role, at=datetime.now(UTC)
        )
        try:
            self.save(user, UserEmail(email=email.lower(), user_id=user.id))
        except IntegrityError:
            raise Conflict(f"A user with the email {email!r} exists already.") from None
        return api_key, api_secret

    def get_user_by_api_key(self, api_key: str) -> User | None:
        try:
            user = self.repository.get(user_id_for_api_key(api_key))
        except AggregateNotFoundError:
            return None
        return user if isinstance(user, User) else None

    def get_user(self, user_id: UUID) -> User:
        user = self.repository.get(user_id)
        assert isinstance(user, User)
        return user

    def get_user_by_email(self, email: str) -> User:
        try:
            index = self.repository.get(email_index_id(email))
        except AggregateNotFoundError:
            raise UserNotFound(email) from None
        return self.get_user(index.user_id)

    def has_user(self, email: str) -> bool:
        try:
            self.get_user_by_email(email)
        except UserNotFound:
            return False
        return True
