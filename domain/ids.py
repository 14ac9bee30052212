"""Deterministic ids: what a retry could create twice gets a uuid5 of what makes it unique."""

from uuid import UUID, uuid5

NAMESPACE = UUID("5d0b7f4e-3c1a-4b8e-9f2d-6a7c8e9b0a11")


def checkpoint_id_for_task(task_id: str, purpose: str) -> UUID:
    return uuid5(NAMESPACE, f"checkpoint:{purpose}:{task_id}")


def dataset_id_for_clone(task_id: str) -> UUID:
    return uuid5(NAMESPACE, f"clone-dataset:{task_id}")


def from_idempotency_key(user_id: str, what: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"idempotency:{user_id}:{what}:{key}")


def user_id_for_api_key(api_key: str) -> UUID:
    return uuid5(NAMESPACE, f"user:{api_key}")


def email_index_id(email: str) -> UUID:
    return uuid5(NAMESPACE, f"email:{email.strip().lower()}")
