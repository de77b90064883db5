"""What routing and SLA computation add to creating a case (services.cases.create_case).

Target (service operations): routing + SLA computation add ≤ 2 ms to case creation (p95)
with 200 routing rules and 50 queues.

Two fresh stores in ``$CASETERM_BENCH_DIR``, each with 50 queues of 8 members (400 agents
with skills and capacity) and 2,000 customers: one without operations, one with an
operations file of 50 queues, 2 calendars, 4 SLA policies and 200 routing rules (199 keyword
and field rules that rarely match, then a catch-all, so most cases walk all 200). Then
``--cases`` cases are created in each, one transaction per case, through the service, with
titles drawn (seeded) from the demo's case templates; the figure is the p95 (and median)
of the per-case time with operations minus without. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_routing.py                 # 500 cases per store
"""

from __future__ import annotations

import json
import random
import time

import _common as c

from caseterm.datafiles import data_dir

TARGET_MS = 2.0
QUEUES = 50
RULES = 200


def ops_text(rng: random.Random) -> str:
    lines = ['skills = ["general", "returns", "billing", "tech"]', "",
             "[[calendar]]", 'name = "office"', 'time_zone = "Europe/Berlin"', 'hours = { mon-fri = ["08:00-18:00"] }',
             'holidays = ["2026-12-24", "2026-12-25"]', "",
             "[[calendar]]", 'name = "always"', 'time_zone = "UTC"', 'hours = { mon-sun = ["00:00-24:00"] }']
    for q in range(QUEUES):
        members = ", ".join(f'"agent{q * 8 + m:03d}"' for m in range(8))
        strategy = ("round_robin", "least_active", "skills")[q % 3]
        lines += ["", "[[queue]]", f'name = "Queue {q:02d}"', f'strategy = "{strategy}"',
                  'needs = { general = 1 }' if strategy == "skills" else "needs = {}", f"members = [{members}]"]
    targets = ('targets = { 1 = { first_response = "1h", resolve = "8h" }, 2 = { first_response = "2h", resolve = "16h" }, '
               '3 = { first_response = "4h", resolve = "40h" }, 4 = { first_response = "8h", resolve = "80h" } }')
    for name, when, cal in (("gold", 'customer_tier = "gold"', "always"), ("field", 'origin = "field"', "office"),
                            ("complaints", 'type = "complaint"', "office"), ("standard", "", "office")):
        lines += ["", "[[sla]]", f'name = "{name}"', f'calendar = "{cal}"', f"when = {{ {when} }}", targets]
    words = ["zebra", "quokka", "ibis", "narwhal", "okapi", "axolotl", "tapir", "gecko", "lynx", "marmot"]
    for r in range(RULES - 1):
        if r % 2:
            when = f'keywords = ["{rng.choice(words)}{r}", "{rng.choice(words)} {r}"]'
        else:
            when = f'origin = "iot", customer_tier = "platinum", not_type = "question", category = "Cat{r}"'
        lines += ["", "[[routing]]", f'name = "rule {r:03d}"', f"when = {{ {when} }}", f'queue = "Queue {r % QUEUES:02d}"']
    lines += ["", "[[routing]]", 'name = "catch-all"', 'queue = "Queue 00"']
    return "\n".join(lines) + "\n"


def build(path, with_ops: bool, rng: random.Random):
    from caseterm.services import customers, ops
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Agent
    from caseterm.store.uow import LocalStore

    c.remove_store(path)
    store = LocalStore.open(path)
    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        for a in range(QUEUES * 8):
            uow.create(Agent(login=f"agent{a:03d}", display_name=f"Agent {a}", role="agent", capacity=1000,
                             skills={"general": 1 + a % 3}), admin.id, "seed")
        people = [customers.create_customer(uow, admin, name=f"Customer {i}", email=f"c{i}@example.org")
                  for i in range(2000)]
    if with_ops:
        report = ops.apply_text(store.uow, "admin", ops_text(rng))
        assert report.applied
    return store, [p.id for p in people]


def create_cases(store, customer_ids, titles, n: int, rng: random.Random) -> list[float]:
    from caseterm.services import cases
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Customer

    times = []
    for i in range(n):
        title = rng.choice(titles)
        customer_id = rng.choice(customer_ids)
        started = time.perf_counter()
        with store.uow() as uow:
            actor = agent_by_login(uow, "admin")
            cases.create_case(uow, actor, customer=uow.session.get(Customer, customer_id), title=title,
                              description="Customer called about it.", case_type=rng.choice(
                                  ["problem", "question", "request", "complaint"]), priority=rng.choice([1, 2, 3, 4]))
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-store", type=int, default=500, help="cases created in each store (default 500)")
    args = p.parse_args()
    c.header(f"bench_routing: {RULES} rules, {QUEUES} queues, {args.per_store} cases per store")
    templates = json.loads((data_dir() / "case_templates.json").read_text(encoding="utf-8"))  # category -> [...]
    titles = [t["title"].replace("{product}", "the kettle") for group in templates.values() for t in group]
    results = {}
    for with_ops in (False, True):
        rng = random.Random(7)
        path = c.bench_dir() / f"routing-{'ops' if with_ops else 'plain'}.sqlite"
        store, customer_ids = build(path, with_ops, rng)
        create_cases(store, customer_ids, titles, 30, random.Random(1))  # warm-up
        results[with_ops] = create_cases(store, customer_ids, titles, args.per_store, random.Random(2))
        store.close()
    plain, routed = results[False], results[True]
    print(f"create_case without operations   p50 {c.median(plain):6.2f} ms   p95 {c.percentile(plain, 95):6.2f} ms")
    print(f"create_case with {RULES} rules, SLA p50 {c.median(routed):6.2f} ms   p95 {c.percentile(routed, 95):6.2f} ms")
    added50 = c.median(routed) - c.median(plain)
    added95 = c.percentile(routed, 95) - c.percentile(plain, 95)
    print(f"added by routing + SLA: p50 {added50:.2f} ms, p95 {added95:.2f} ms "
          f"vs target {TARGET_MS} ms: ratio {added95 / TARGET_MS:.2f}")
    c.footer()


if __name__ == "__main__":
    main()
