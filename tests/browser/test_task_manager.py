"""The Task Manager page: its filters (options from GET /tasks/filters, and a start-time
window entered in local time and sent as UTC), sorting by column and paging, each showing
exactly the tasks the JSON API gives for the same query; aborting a running task, retrying a
failed creation, reading a completed task's report, and a viewer's disabled buttons.

These run against an API-only server with a projector process and a worker the test can
stop, or restart holding each task it claims (tests/support/paced_worker.py), so a task
stays INITIALIZING or RUNNING for as long as the test needs: no timing, no sleeps.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, expect

from tests.browser import screens
from tests.browser.screens import (
    TASK_TIMEOUT_MS,
    VIEWER_REASON,
    ready_dataset,
    shot,
    snapshot_by_name,
)
from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import Deployment, finish
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess

deployment = helpers.deployment
server = screens.deployment_server
client = screens.client
EDITOR = "editor@example.com"
VIEWER = "viewer@example.com"
ZONE = "Asia/Kathmandu"  # UTC+05:45: a local time sent as if it were UTC misses any window
HOLD_SECONDS = 60  # a held worker keeps a claimed task RUNNING this long


def expect_tasks(screen: Page, client: SnapsetClient, **query: Any) -> None:
    """The table lists the tasks GET /tasks lists for ``query``, in its order."""
    body = client.tasks(**query)
    ids = [t["task_id"] for t in body["tasks"]]
    rows = screen.locator("#task-table tbody tr")
    expect(rows).to_have_count(len(ids))
    for index, task_id in enumerate(ids):
        expect(rows.nth(index)).to_have_attribute("data-task-id", task_id)
    expect(screen.locator("#task-count")).to_have_text(
        "1 task" if body["total"] == 1 else f"{body['total']} tasks"
    )


def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def task_row(page: Page, task_id: str) -> Locator:
    return page.locator(f'#task-table tbody tr[data-task-id="{task_id}"]')


def row_button(row: Locator, label: str) -> Locator:
    return row.get_by_role("button", name=re.compile(f"^{label} "))


def open_task_manager(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Task Manager").click()
    expect(page.locator("#task-table, .panel .empty").first).to_be_visible()


def add_media(client: SnapsetClient, dataset_id: str, folder: Path) -> str:
    """Start adding one new image to the dataset; the task's id."""
    new = image(folder / "late-arrival.png", 31, 17, (5, 150, 60))
    started = client.ok(
        "POST",
        f"/dataset/{dataset_id}/media",
        expect=202,
        files=[("files", (new.name, new.read_bytes()))],
    )
    return str(started["task_id"])


def hold_claimed_tasks(deployment: Deployment) -> None:
    """Restart the worker so that it pauses after claiming each task: it stays RUNNING."""
    deployment.stop("worker")
    deployment.start("worker", hold=HOLD_SECONDS)


def failed_creation(client: SnapsetClient, deployment: Deployment, name: str) -> tuple[str, Path]:
    """A dataset whose creation failed (its import folder has no media), and that folder."""
    folder = deployment.import_root / name.lower().replace(" ", "-")
    folder.mkdir()
    (folder / "readme.txt").write_text("the media comes later")
    dataset_id = client.create_dataset(name, source_path=folder.name)
    client.wait_status(dataset_id, "ERROR")
    return dataset_id, folder


def sign_in_with_form(page: Page, user: SnapsetClient, email: str) -> None:
    page.goto("/")
    page.get_by_label("API key").fill(user.api_key)
    page.get_by_label("API secret").fill(user.api_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text(email)


def test_the_task_manager_filters_sorts_and_pages_like_the_api(
    signed_in_page: Page,
    client: SnapsetClient,
    server: ServerProcess,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    alpha = ready_dataset(client, tmp_path / "a", "Alpha set", images=2)
    beta = ready_dataset(client, tmp_path / "b", "Beta set", images=2)
    [alpha_first] = client.snapshots(alpha)
    client.create_snapshot(alpha, name="a1")
    finish(client, client.restore(alpha, alpha_first["snapshot_id"]))
    finish(client, client.clone(beta, client.snapshots(beta)[0]["snapshot_id"]))
    editor = add_user(server, EDITOR)
    try:
        client.ok("POST", f"/dataset/{alpha}/share", json={"user_email": EDITOR, "role": "editor"})
        a1 = snapshot_by_name(client.snapshots(alpha), "a1")
        finish(editor, editor.restore(alpha, a1["snapshot_id"]))
        finish(editor, editor.restore(alpha, alpha_first["snapshot_id"]))
    finally:
        editor.close()
    filters = client.ok("GET", "/tasks/filters")
    page = signed_in_page

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Task Manager").click()
    expect_tasks(page, client)
    options = page.locator("#filter-dataset_name option")
    expect(options).to_have_count(len(filters["dataset_names"]) + 1)
    assert options.evaluate_all("os => os.map(o => o.value)") == ["", *filters["dataset_names"]]
    assert set(filters["created_by"]) >= {EDITOR}
    shot(page, artifacts, "task-manager")

    page.get_by_label("Task type").select_option("SNAPSHOT_RESTORE")
    expect_tasks(page, client, task_type="SNAPSHOT_RESTORE")
    page.get_by_label("Dataset").select_option("Alpha set")
    expect_tasks(page, client, task_type="SNAPSHOT_RESTORE", dataset_name="Alpha set")
    page.get_by_label("Created by").select_option(EDITOR)
    expect_tasks(
        page, client, task_type="SNAPSHOT_RESTORE", dataset_name="Alpha set", created_by=EDITOR
    )
    page.get_by_role("button", name="Clear filters").click()
    expect_tasks(page, client)
    page.get_by_label("Status").select_option("COMPLETED")
    expect_tasks(page, client, task_status="COMPLETED")
    page.get_by_label("Task type").select_option("SNAPSHOT_CLONE")
    expect_tasks(page, client, task_status="COMPLETED", task_type="SNAPSHOT_CLONE")
    page.get_by_role("button", name="Clear filters").click()

    page.get_by_role("button", name="Dataset", exact=True).click()
    expect_tasks(page, client, sort_by="dataset_name", sort_order="asc")
    header = page.locator("#task-table th", has=page.get_by_role("button", name="Dataset"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("button", name="Dataset", exact=True).click()
    expect_tasks(page, client, sort_by="dataset_name", sort_order="desc")
    expect(header).to_have_attribute("aria-sort", "descending")
    page.get_by_label("Sort by").select_option("task_type")
    expect_tasks(page, client, sort_by="task_type", sort_order="desc")

    page.get_by_label("Per page").select_option("5")
    expect_tasks(page, client, sort_by="task_type", sort_order="desc", page_size=5)
    total = client.tasks()["total"]
    assert total > 5
    task_pager = page.get_by_role("navigation", name="Task pages")
    task_pager.get_by_role("button", name="Next").click()
    expect_tasks(page, client, sort_by="task_type", sort_order="desc", page_size=5, page=2)
    expect(task_pager).to_contain_text(f"Page 2 of {-(-total // 5)}")


def test_the_start_time_filters_send_utc_and_exclude_or_include_a_known_task(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Timed", images=1)
    [known] = client.tasks(dataset_id=dataset_id)["tasks"]
    started = datetime.fromisoformat(known["start_time"].replace("Z", "+00:00"))
    whole = started.replace(microsecond=0)
    before, after = whole - timedelta(minutes=1), whole + timedelta(minutes=1)
    page = signed_in_page
    page.context.new_cdp_session(page).send("Emulation.setTimezoneOverride", {"timezoneId": ZONE})

    def local(moment: datetime) -> str:  # what a person in ZONE types
        return moment.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M:%S")

    def utc(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    open_task_manager(page)
    expect_tasks(page, client)
    expect(task_row(page, known["task_id"])).to_have_count(1)

    with page.expect_request(
        lambda r: "/api/v1/tasks?" in r.url and "start_time_from" in r.url
    ) as sent:
        page.get_by_label("Started from").fill(local(after))
    assert parse_qs(urlparse(sent.value.url).query)["start_time_from"] == [utc(after)]
    expect_tasks(page, client, start_time_from=utc(after))
    expect(task_row(page, known["task_id"])).to_have_count(0)

    page.get_by_label("Started from").fill(local(before))
    page.get_by_label("Started until").fill(local(after))
    expect_tasks(page, client, start_time_from=utc(before), start_time_to=utc(after))
    expect(task_row(page, known["task_id"])).to_have_count(1)

    page.get_by_label("Started from").fill("")
    page.get_by_label("Started until").fill(local(before))
    expect_tasks(page, client, start_time_to=utc(before))
    expect(task_row(page, known["task_id"])).to_have_count(0)

    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_label("Started until")).to_have_value("")
    expect_tasks(page, client)


def test_a_running_task_is_aborted_after_confirming_and_the_dataset_is_left_as_it_was(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Abortable", images=2)
    hold_claimed_tasks(deployment)
    task_id = add_media(client, dataset_id, tmp_path / "more")
    until(lambda: client.ok("GET", f"/tasks/{task_id}")["status"] == "RUNNING")
    page = signed_in_page

    open_task_manager(page)
    row = task_row(page, task_id)
    expect(row.locator(".badge")).to_have_text("RUNNING")
    row_button(row, "Abort").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading")).to_have_text(
        "Abort the media addition task on “Abortable”?"
    )
    expect(dialog).to_contain_text("“Abortable” keeps the content it had before the task started.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    shot(page, artifacts, "confirm-abort")
    dialog.get_by_role("button", name="Abort task").click()

    expect(page.get_by_role("status").filter(has_text="was aborted")).to_contain_text(
        "The media addition task on “Abortable” was aborted."
    )
    expect(row.locator(".badge")).to_have_text("ABORTED")
    expect(row_button(row, "Abort")).to_have_count(0)
    assert client.ok("GET", f"/tasks/{task_id}")["status"] == "ABORTED"
    dataset = client.wait_status(dataset_id, "READY")
    assert (dataset["n_images"], dataset["n_videos"]) == (2, 0)


def test_aborting_a_task_that_ended_meanwhile_shows_the_servers_detail(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Raced", images=1)
    deployment.stop("worker")
    task_id = add_media(client, dataset_id, tmp_path / "more")
    page = signed_in_page
    open_task_manager(page)
    row = task_row(page, task_id)
    expect(row.locator(".badge")).to_have_text("INITIALIZING")

    row_button(row, "Abort").click()
    dialog = page.locator("dialog[open]")
    client.ok("POST", f"/tasks/{task_id}/abort")  # behind the page's back
    refused = client.request("POST", f"/tasks/{task_id}/abort")
    assert refused.status_code == 409
    dialog.get_by_role("button", name="Abort task").click()

    expect(page.get_by_role("alert").filter(has_text=refused.json()["detail"])).to_contain_text(
        "Could not abort the media addition task on “Raced”"
    )
    expect(row.locator(".badge")).to_have_text("ABORTED")


def test_a_failed_creation_is_retried_from_the_task_manager_and_completes(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
) -> None:
    dataset_id, folder = failed_creation(client, deployment, "Late set")
    [failed] = client.tasks(dataset_id=dataset_id)["tasks"]
    assert (failed["task_type"], failed["status"]) == ("DATASET_CREATION", "FAILED")
    image(folder / "arrived.png")
    page = signed_in_page
    open_task_manager(page)
    row = task_row(page, failed["task_id"])
    expect(row.locator(".badge")).to_have_text("FAILED")
    expect(row.locator(".message")).to_have_text(failed["error_message"])

    row_button(row, "Retry").click()

    expect(page.get_by_role("status").filter(has_text="Creating “Late set” again.")).to_be_visible()
    expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=TASK_TIMEOUT_MS)
    expect(row_button(row, "Retry")).to_have_count(0)
    done = client.ok("GET", f"/tasks/{failed['task_id']}")
    assert (done["status"], done["error_message"]) == ("COMPLETED", None)
    dataset = client.dataset(dataset_id)
    assert (dataset["status"], dataset["n_images"]) == ("READY", 1)


def test_a_completed_task_shows_its_report(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Reported", images=2)
    first, second = client.media(dataset_id)
    rows = [
        {"media_id": first["media_id"], "score": 1.5},
        {"media_id": second["media_id"], "score": "high"},
        {"media_id": "no-such-item", "score": 2},
    ]
    started = client.ok(
        "POST",
        f"/dataset/{dataset_id}/custom_metadata",
        expect=202,
        json={"schema": {"score": {"type": "float"}}, "key": "media_id", "rows": rows},
    )
    finish(client, started)
    report = client.ok("GET", f"/tasks/{started['task_id']}/report")["report"]
    assert (report["inserted_rows"], report["rejected_rows"]) == (1, 2)  # what was sent
    [creation] = client.tasks(dataset_id=dataset_id, task_type="DATASET_CREATION")["tasks"]
    page = signed_in_page

    open_task_manager(page)
    expect(row_button(task_row(page, creation["task_id"]), "Report")).to_have_count(0)
    button = row_button(task_row(page, started["task_id"]), "Report")
    button.click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading")).to_have_text(
        "Report of the custom metadata task on “Reported”"
    )
    shown = dialog.locator("#task-report")
    expect(shown).not_to_have_attribute("aria-busy", "true")
    expect(shown.locator('dd[data-field="inserted_rows"]')).to_have_text("1")
    expect(shown.locator('dd[data-field="rejected_rows"]')).to_have_text("2")
    errors = shown.locator('table[data-field="errors"] tbody tr')
    expect(errors).to_have_count(len(report["errors"]))
    for index, error in enumerate(report["errors"]):
        for value in (str(error["row"]), error["field"], error["detail"]):
            expect(errors.nth(index)).to_contain_text(value)
    shot(page, artifacts, "task-report")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(button).to_be_focused()


def test_a_viewer_finds_abort_and_retry_disabled_with_the_reason(
    page: Page,
    client: SnapsetClient,
    server: ServerProcess,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    failed_id, _ = failed_creation(client, deployment, "Broken set")
    [failed] = client.tasks(dataset_id=failed_id)["tasks"]
    ready_id = ready_dataset(client, tmp_path / "media", "Busy set", images=1)
    deployment.stop("worker")
    pending = add_media(client, ready_id, tmp_path / "more")
    viewer = add_user(server, VIEWER)
    try:
        for dataset_id in (failed_id, ready_id):
            client.ok(
                "POST",
                f"/dataset/{dataset_id}/share",
                json={"user_email": VIEWER, "role": "viewer"},
            )
        sign_in_with_form(page, viewer, VIEWER)
        open_task_manager(page)

        for task_id, label in ((failed["task_id"], "Retry"), (pending, "Abort")):
            button = row_button(task_row(page, task_id), label)
            expect(button).to_be_disabled()
            expect(button).to_have_attribute("title", VIEWER_REASON)
            expect(task_row(page, task_id).locator(".disabled-reason")).to_have_text(VIEWER_REASON)
        assert viewer.request("POST", f"/tasks/{pending}/abort").status_code == 403
    finally:
        viewer.close()
