"""Request and response models of the web UI's sign-in session."""

from __future__ import annotations

from pydantic import BaseModel, Field

from adapters.http.models import Strict


class SignIn(Strict):
    api_key: str = Field(min_length=1, max_length=200, description="The user's API key.")
    api_secret: str = Field(
        min_length=1, max_length=200, description="The user's API secret (shown once, at creation)."
    )


class WebSession(BaseModel):
    email: str = Field(description="The signed-in user's email.")
    is_admin: bool
    csrf_token: str = Field(
        description="Send it as `X-CSRF-Token` on every POST, PATCH, PUT "
        "and DELETE authenticated by the session cookie; it "
        "equals the `snapset_csrf` cookie."
    )
