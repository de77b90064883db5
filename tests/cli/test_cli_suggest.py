"""``caseterm cases suggest``: articles and similar resolved cases for a case of the demo store,
as text and as JSON; refusals are one ``error:`` line with exit 2; the store is only read."""

from __future__ import annotations


def _open_case(sql, db) -> tuple[str, str]:
    return sql(db, "SELECT number, title FROM cases WHERE state = 'active' AND product_id IS NOT NULL "
                   "ORDER BY number LIMIT 1")[0]


def test_suggest_json_for_an_open_demo_case(run, demo_db, sql, snapshot):
    number, _ = _open_case(sql, demo_db)
    before = snapshot(demo_db)
    data = run("cases", "suggest", number.lower(), "--json", db=demo_db).json()
    assert list(data) == ["articles", "cases", "note"] and data["note"] is None
    assert len(data["articles"]) == 3 and len(data["cases"]) == 3
    for hit in data["articles"]:
        assert list(hit) == ["number", "title", "snippet", "score", "product", "category"]
        assert hit["number"].startswith("KA-DEMO-") and "«" in hit["snippet"]
    published = {r[0] for r in sql(demo_db, "SELECT number FROM kb_articles WHERE state = 'published'")}
    assert {h["number"] for h in data["articles"]} <= published
    scores = [h["score"] for h in data["articles"]]
    assert scores == sorted(scores, reverse=True)
    for case in data["cases"]:
        assert list(case) == ["number", "title", "resolution", "resolved_at", "score"]
        assert case["number"] != number and case["resolved_at"].endswith("Z") and case["resolution"]
        assert sql(demo_db, "SELECT state FROM cases WHERE number = ?", (case["number"],)) == [("resolved",)]
    assert len({c["resolution"] for c in data["cases"]}) == 3
    assert snapshot(demo_db) == before  # suggestions only read the store

    fewer = run("cases", "suggest", number, "--json", "--articles", "0", "--cases", "1", db=demo_db).json()
    assert fewer["articles"] == [] and fewer["cases"] == data["cases"][:1]


def test_suggest_as_text(run, demo_db, sql):
    number, _ = _open_case(sql, demo_db)
    data = run("cases", "suggest", number, "--json", db=demo_db).json()
    r = run("cases", "suggest", number, db=demo_db)
    assert r.code == 0, r.err
    assert r.out.startswith("Articles\n") and "\nSimilar resolved cases\n" in r.out
    for item in data["articles"] + data["cases"]:
        assert item["number"] in r.out
    assert data["cases"][0]["resolution"][:40] in r.out


def test_suggest_refusals(run, demo_db, sql):
    r = run("cases", "suggest", "CAS-DEMO-999999", db=demo_db)
    assert r.code == 2 and r.out == ""
    assert r.err_lines == ["error: No case CAS-DEMO-999999; check the number with 'caseterm cases list'"]
    number, _ = _open_case(sql, demo_db)
    r = run("cases", "suggest", number, "--cases", "21", db=demo_db)
    assert r.code == 2 and r.err_lines == ["error: --cases: must be from 0 to 20"]
