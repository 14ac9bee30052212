"""The Task Manager page: its filters (options from GET /tasks/filters), sorting by column,
and paging, each showing exactly the tasks the JSON API gives for the same query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser import screens
from tests.browser.screens import ready_dataset, shot, snapshot_by_name
from tests.e2e.conftest import add_user
from tests.e2e.helpers import finish
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess

client = screens.client
EDITOR = "editor@example.com"


def expect_tasks(screen: Page, client: SnapsetClient, **query: Any) -> None:
    """The table lists the tasks GET /tasks lists for ``query``, in its order."""
    body = client.tasks(**query)
    ids = [t["task_id"] for t in body["tasks"]]
    rows = screen.locator("#task-table tbody tr")
    expect(rows).to_have_count(len(ids))
    for index, task_id in enumerate(ids):
        expect(rows.nth(index)).to_have_attribute("data-task-id", task_id)
    expect(screen.locator("#task-count")).to_have_text(
        "1 task" if body["total"] == 1 else f"{body['total']} tasks")


def test_the_task_manager_filters_sorts_and_pages_like_the_api(
    signed_in_page: Page, client: SnapsetClient, server: ServerProcess, tmp_path: Path,
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
    expect_tasks(page, client, task_type="SNAPSHOT_RESTORE", dataset_name="Alpha set",
                 created_by=EDITOR)
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
