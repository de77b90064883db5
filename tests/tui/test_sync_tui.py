"""The workstation and the case server: the status bar says online, pending and when it
last synced; F9 syncs now (in a worker); F8 lists conflicts to decide from the keyboard."""

from __future__ import annotations

import pytest
from server_support import client_store, start_server
from tui_support import make_app, settle

from caseterm.services import cases, customers
from caseterm.services.lookup import agent_by_login, case_by_number, queue_by_name
from caseterm.sync import client

SIZE = (130, 36)


@pytest.fixture(autouse=True)
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path)
    yield running
    running.stop()


def status(app) -> str:
    return str(app.screen.query_one("#status").content)


async def open_problems(app, pilot):
    """F8: the conflicts and rejected changes screen; its list."""
    await pilot.press("f8")
    await settle(pilot, lambda: app.screen.__class__.__name__ == "SyncProblemsScreen")
    return app.screen.query_one("#problems")


@pytest.mark.parametrize("decide, expected", [("m", 4), ("e", 2)], ids=["keep-mine", "type-a-value"])
async def test_status_bar_f9_sync_and_f8_conflicts(server, tmp_path, decide, expected):
    jdoe = client_store(tmp_path, "jdoe", server, server.add_agent("jdoe", "agent", ["Returns"]))
    boss = client_store(tmp_path, "boss", server, server.add_agent("boss", "supervisor", ["Returns"]))
    client.sync(boss)
    client.sync(jdoe)  # (caseterm login does this first sync itself)
    with boss.uow() as uow:  # after jdoe's last sync
        me = agent_by_login(uow, "boss")
        ada = customers.create_customer(uow, me, name="Ada Lovelace", email="ada@example.org")
        number = cases.create_case(uow, me, customer=ada, title="Router dead", queue=queue_by_name(uow, "Returns"),
                                   priority=3).number
    client.sync(boss)

    app = make_app(jdoe.path, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        # opening the workstation syncs by itself: the supervisor's case arrives
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and "online" in status(app))
        assert f"{server.url} · online · last sync 20" in status(app)
        assert "0 pending changes" in status(app)
        screen = app.screen
        views = screen.query_one("#view-list")
        views.highlighted = next(i for i in range(views.option_count) if views.get_option_at_index(i).id == "all")
        await settle(pilot, lambda: screen.detail is not None and screen.detail.fields["number"] == number)

        # both change the priority: the supervisor first, jdoe offline (here: in this store)
        with boss.uow() as uow:
            cases.update_case(uow, agent_by_login(uow, "boss"), case_by_number(uow, number), priority=1)
        client.sync(boss)
        with jdoe.uow() as uow:
            cases.update_case(uow, agent_by_login(uow, "jdoe"), case_by_number(uow, number), priority=4)
        await pilot.press("f5")
        await settle(pilot, lambda: "2 pending changes" in status(app))
        await pilot.press("f9")
        await settle(pilot, lambda: "1 conflict (F8)" in status(app))
        assert [n.title for n in app._notifications if n.title == "Sync"]

        box = await open_problems(app, pilot)
        await settle(pilot, lambda: box.option_count and "conflict" in str(box.get_option_at_index(0).prompt))
        assert str(box.get_option_at_index(0).prompt) == f"conflict  {number}  priority: mine 4 · theirs 1 (was 3)"
        if decide == "e":  # type a value of one's own: "2" is a priority, as in the case form
            await pilot.press("e")
            await settle(pilot, lambda: app.screen.__class__.__name__ == "TextForm")
            await pilot.press("backspace", "2", "ctrl+s")
            await settle(pilot, lambda: app.screen.__class__.__name__ == "SyncProblemsScreen")
        else:
            await pilot.press("m")
        await settle(pilot, lambda: box.option_count == 1 and "Nothing to decide" in
                     str(box.get_option_at_index(0).prompt))
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")
        await pilot.press("f9")
        await settle(pilot, lambda: "0 pending changes" in status(app) and "conflict" not in status(app))
    client.sync(boss)
    with boss.uow() as uow:
        assert case_by_number(uow, number).priority == expected  # jdoe's decision reached the server


async def test_a_store_without_a_server_says_so_and_f9_explains(tmp_path):
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(tmp_path / "alone.sqlite")
    store.close()
    app = make_app(tmp_path / "alone.sqlite", login="admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.sync_info)
        assert "offline (no server)" in status(app)
        await pilot.press("f9")
        await settle(pilot, lambda: any(n.title == "No server" for n in app._notifications))
        box = await open_problems(app, pilot)
        await settle(pilot, lambda: box.option_count == 1)
        assert str(box.get_option_at_index(0).prompt) == ("Nothing to decide: this store does not sync with a server "
                                                          "(caseterm login URL --token TOKEN).")


async def test_f8_shows_a_rejected_change_with_its_reason_and_d_clears_it(tmp_path):
    import uuid

    from caseterm.store.models import OutboxOp
    from caseterm.store.uow import LocalStore
    from tui_support import rows

    store = LocalStore.open(tmp_path / "refused.sqlite")
    with store.uow() as uow:  # as a push leaves it: the server's answer kept on the op
        uow.session.add(OutboxOp(entity="cases", row_id=uuid.uuid4(), kind="update", action="update_case",
                                 data={"priority": 1}, created_at=uow.now(), state="rejected",
                                 result={"status": "rejected", "reason": "that case is not among yours"}))
    store.close()
    app = make_app(tmp_path / "refused.sqlite", login="admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.sync_info)
        assert "1 rejected (F8)" in status(app)
        box = await open_problems(app, pilot)
        await settle(pilot, lambda: box.option_count and "rejected" in str(box.get_option_at_index(0).prompt))
        assert str(box.get_option_at_index(0).prompt) == "rejected  cases  update case: that case is not among yours"
        await pilot.press("d")
        await settle(pilot, lambda: "Nothing to decide" in str(box.get_option_at_index(0).prompt))
    assert rows(tmp_path / "refused.sqlite", "SELECT state FROM outbox") == [("dismissed",)]
