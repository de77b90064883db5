"""The demo store: a realistic, deterministic service organisation with its case history.

``seed_demo`` builds ~40 products (``data/products.csv``), customers with orders and
assets, 20 agents in 5 queues and ``cases`` cases spread over the last 90 days, in every
state, each with a timeline shaped like the one the services write. The same seed and
clock give the same store, ids included.

It writes through ``store.bulk.BulkLoader`` rather than the services: a million cases
must load in under a minute (see tests/bench/bench_seed.py), and a demo store's rows are
a baseline, not local work, so they do not go to the outbox.
"""

from __future__ import annotations

import csv
import json
import os
import random
import unicodedata
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from caseterm.datafiles import data_dir
from caseterm.services.customers import add_months
from caseterm.store.bulk import BulkLoader

DEMO_DEVICE = "DEMO"
DAY = 86_400

QUEUES = (
    ("General Support", "First line for questions, orders and accounts"),
    ("Technical Support", "Faults, set-up and connectivity"),
    ("Returns", "Returns, exchanges, refunds and warranty claims"),
    ("Billing", "Invoices, payments and charges"),
    ("Field Service", "On-site visits and repairs"),
)

# login, display name, role, queues (by index in QUEUES), skills, capacity
AGENTS = (
    ("jdoe", "Jordan Doe", "agent", (0, 2), {"returns": 2, "general": 3}, 12),
    ("akowalski", "Anna Kowalski", "agent", (0,), {"general": 3, "billing": 1}, 12),
    ("mokafor", "Musa Okafor", "agent", (1,), {"networking": 3, "smart_home": 2}, 10),
    ("lchen", "Li Chen", "agent", (1,), {"networking": 2, "audio": 3}, 10),
    ("sgarcia", "Sofia García", "agent", (0, 3), {"billing": 3, "general": 2}, 12),
    ("tnguyen", "Thu Nguyen", "agent", (1, 2), {"tv_video": 3, "returns": 1}, 10),
    ("ebergstrom", "Erik Bergström", "agent", (2,), {"returns": 3}, 14),
    ("pmehta", "Priya Mehta", "agent", (0,), {"general": 2, "kitchen": 2}, 12),
    ("dsilva", "Diego Silva", "agent", (1,), {"laundry": 3, "cleaning": 2}, 10),
    ("hschmidt", "Hanna Schmidt", "agent", (3,), {"billing": 3}, 12),
    ("oyilmaz", "Omer Yılmaz", "agent", (0, 1), {"general": 2, "mobility": 3}, 12),
    ("cmartin", "Claire Martin", "agent", (2, 3), {"returns": 2, "billing": 2}, 12),
    ("kadeyemi", "Kemi Adeyemi", "supervisor", (0, 1, 2), {"general": 3, "returns": 3}, 6),
    ("rlindqvist", "Rasmus Lindqvist", "supervisor", (3, 4), {"billing": 2, "field": 3}, 6),
    ("fjohansson", "Frida Johansson", "technician", (4,), {"laundry": 3, "kitchen": 3, "field": 3}, 8),
    ("mrossi", "Marco Rossi", "technician", (4,), {"tv_video": 2, "smart_home": 3, "field": 3}, 8),
    ("ysato", "Yuki Sato", "technician", (4,), {"cleaning": 3, "mobility": 2, "field": 2}, 8),
    ("bdubois", "Bastien Dubois", "clerk", (2,), {"returns": 1}, 20),
    ("nhansen", "Nora Hansen", "clerk", (0,), {"general": 1}, 20),
    ("gpetrov", "Georgi Petrov", "admin", (0, 1, 2, 3, 4), {"general": 1}, 4),
)

EXTRA_CATEGORIES = ("Billing", "Delivery", "Account")

CASE_COLUMNS = (
    "id", "version", "created_at", "updated_at", "deleted", "number", "title", "description", "customer_id",
    "contact_id", "asset_id", "product_id", "origin", "case_type", "category_id", "priority", "state",
    "status_reason", "queue_id", "owner_id", "created_by_id", "parent_id", "merged_into_id",
    "sla_paused_seconds", "sla_warned", "sla_breached", "escalated", "resolution", "resolved_at",
    "cancelled_at", "reopen_count", "satisfaction_score",
)
ACTIVITY_COLUMNS = (
    "id", "version", "created_at", "updated_at", "deleted", "case_id", "kind", "direction", "subject", "body",
    "author_id", "occurred_at", "duration_seconds", "visibility", "event", "data", "attachments",
)

_ORIGINS = (("phone", 35), ("email", 30), ("web", 10), ("chat", 10), ("store", 10), ("field", 5))
_PRIORITIES = ((1, 4), (2, 18), (3, 58), (4, 20))
_ACTIVE_STATUSES = (("in_progress", 40), ("waiting_for_customer", 25), ("on_hold", 10), ("researching", 10), ("new", 15))
_TECH_CATEGORIES = {"Networking", "Smart Home", "TV & Video", "Audio"}
_FIELD_CATEGORIES = {"Laundry", "Kitchen", "Cleaning"}


@dataclass
class DemoSummary:
    path: Path
    products: int = 0
    customers: int = 0
    orders: int = 0
    assets: int = 0
    agents: int = 0
    queues: int = 0
    cases: int = 0
    activities: int = 0
    articles: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _weighted(rng: random.Random, pairs) -> Callable[[], object]:
    values = [v for v, _ in pairs]
    cum, total = [], 0
    for _, w in pairs:
        total += w
        cum.append(total)

    def pick():
        return values[bisect(cum, rng.random() * total)]

    return pick


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


class _Ids:
    """Deterministic UUIDv7 ids (hex text) from the seeded RNG: time-ordered like real ones."""

    def __init__(self, rng: random.Random) -> None:
        self.bits = rng.getrandbits

    def __call__(self, epoch_seconds: int) -> str:
        r = self.bits(74)
        value = (epoch_seconds * 1000 + (r & 0x3FF)) << 80 | 0x7 << 76 | (r >> 10 & 0xFFF) << 64
        value |= 0b10 << 62 | r >> 22 << 10 | self.bits(10)
        return f"{value:032x}"


class _Times:
    """Epoch seconds → the store's datetime text, fast (millions of rows)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._hms = [f"{h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)]

    def __call__(self, ts: int | None) -> str | None:
        if ts is None:
            return None
        day, sec = divmod(ts, DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat() + " "
        return prefix + self._hms[sec]


def _load_products() -> list[dict]:
    with open(data_dir() / "products.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seed_demo(
    path: Path,
    *,
    cases: int = 2000,
    seed: int = 7,
    now: datetime | None = None,
    days: int = 90,
    customers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Build a demo store at ``path`` (which must not exist). ``progress(n)`` is called as
    cases are written (n = cases written since the last call)."""
    import time as _time

    started = _time.perf_counter()
    rng = random.Random(seed)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    now_ts = int(now.timestamp())
    new_id = _Ids(rng)
    fmt = _Times()
    root = data_dir()
    names = json.loads((root / "names.json").read_text(encoding="utf-8"))
    templates = json.loads((root / "case_templates.json").read_text(encoding="utf-8"))
    products = _load_products()
    n_customers = customers or max(500, cases // 20)
    summary = DemoSummary(path=path)
    # Benchmark-scale stores (--scale above 50,000) get only each case's created and
    # closing events, so a million cases load within a minute.
    full_timelines = cases <= 50_000
    history_start = now_ts - 730 * DAY
    stamp = fmt(now_ts - 400 * DAY)  # when the organisation's set-up rows were made

    with BulkLoader(path, ("customers", "products", "sales_orders", "sales_order_lines", "assets", "agents",
                           "queues", "queue_members", "categories", "cases", "activities"),
                    page_size=8192 if cases > 50_000 else 4096) as bulk:
        bulk.execute("UPDATE sync_state SET device_code = ?", [DEMO_DEVICE])
        admin_id = bulk.execute("SELECT id FROM agents WHERE login = 'admin'").fetchone()[0]

        # --- products and categories ---------------------------------------------------
        product_rows = []
        for p in products:
            p["id"] = new_id(now_ts - 400 * DAY)
            product_rows.append((p["id"], 0, stamp, stamp, 0, p["sku"], p["name"], p["category"], p["unit_price"],
                                 p["currency"], p["returnable"] == "true", int(p["return_window_days"]),
                                 int(p["warranty_months"]), True))
        bulk.insert("products", ("id", "version", "created_at", "updated_at", "deleted", "sku", "name", "category",
                                 "unit_price", "currency", "returnable", "return_window_days", "warranty_months",
                                 "active"), product_rows)
        category_names = sorted({p["category"] for p in products}) + list(EXTRA_CATEGORIES)
        category_ids = {name: new_id(now_ts - 400 * DAY) for name in category_names}
        bulk.insert("categories", ("id", "version", "created_at", "updated_at", "deleted", "name", "parent_id"),
                    [(cid, 0, stamp, stamp, 0, name, None) for name, cid in category_ids.items()])

        # --- the organisation ------------------------------------------------------------
        queue_ids = [new_id(now_ts - 400 * DAY) for _ in QUEUES]
        bulk.insert("queues", ("id", "version", "created_at", "updated_at", "deleted", "name", "description"),
                    [(qid, 0, stamp, stamp, 0, name, desc) for qid, (name, desc) in zip(queue_ids, QUEUES)])
        agent_ids: dict[str, str] = {}
        members: dict[int, list[str]] = {i: [] for i in range(len(QUEUES))}
        agent_rows, member_rows = [], []
        for login, display, role, queues, skills, capacity in AGENTS:
            aid = agent_ids[login] = new_id(now_ts - 400 * DAY)
            agent_rows.append((aid, 0, stamp, stamp, 0, login, display, f"{login}@norrvik-service.example", role,
                               json.dumps(skills, sort_keys=True, separators=(",", ":")), capacity, "available", True))
            for q in queues:
                members[q].append(login)
                member_rows.append((new_id(now_ts - 400 * DAY), 0, stamp, stamp, 0, queue_ids[q], aid))
        bulk.insert("agents", ("id", "version", "created_at", "updated_at", "deleted", "login", "display_name", "email",
                               "role", "skills", "capacity", "presence", "active"), agent_rows)
        bulk.insert("queue_members", ("id", "version", "created_at", "updated_at", "deleted", "queue_id", "agent_id"),
                    member_rows)
        workers = {q: [agent_ids[login] for login in logins if AGENTS_BY_LOGIN[login][2] != "clerk"] or
                   [agent_ids[login] for login in logins] for q, logins in members.items()}
        creators = [agent_ids[a[0]] for a in AGENTS]
        login_of = {aid: login for login, aid in agent_ids.items()}

        # --- customers, orders, assets --------------------------------------------------------
        first, last = names["first_names"], names["last_names"]
        cust_rows, order_rows, line_rows, asset_rows = [], [], [], []
        customer_assets: list[list[tuple[str, int]]] = []  # per customer: (asset id, product index)
        customer_ids: list[str] = []
        org_ids: list[str] = []
        pick_tier = _weighted(rng, (("standard", 80), ("gold", 15), ("platinum", 5)))
        order_no = 100000
        for i in range(n_customers):
            joined = history_start + rng.randrange(365 * DAY)
            cid = new_id(joined)
            city = rng.choice(names["cities"])
            street = f"{rng.choice(names['streets'])} {rng.randint(1, 180)}"
            postcode = f"{city['postcode_prefix']}{rng.randint(100, 999)}"
            phone = f"+{rng.choice(('46', '47', '45', '49', '31', '33', '34', '39', '44', '48'))} " \
                    f"{rng.randint(60, 79)} {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
            digits = "".join(ch for ch in phone if ch.isdigit())
            domain = rng.choice(names["email_domains"])
            if i % 7 == 3:  # an organisation
                name = f"{rng.choice(names['org_words'])} {rng.choice(names['org_suffixes'])}"
                email = f"service.{i}@{_ascii(name.split()[0])}.example"
                cust_rows.append((cid, 0, fmt(joined), fmt(joined), 0, "organisation", name, email, phone, digits,
                                  street, postcode, city["city"], None, None, pick_tier(), None))
                org_ids.append(cid)
            else:
                fn, ln = rng.choice(first), rng.choice(last)
                name = f"{fn} {ln}"
                email = f"{_ascii(fn)}.{_ascii(ln)}.{i}@{domain}"
                parent = rng.choice(org_ids) if org_ids and rng.random() < 0.1 else None
                cust_rows.append((cid, 0, fmt(joined), fmt(joined), 0, "person", name, email, phone, digits,
                                  street, postcode, city["city"], None, parent, pick_tier(), None))
            customer_ids.append(cid)
            owned: list[tuple[str, int]] = []
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                order_no += 1
                ordered = joined + rng.randrange(max(1, now_ts - joined - 2 * DAY))
                oid = new_id(ordered)
                total = Decimal("0")
                for line_no in range(1, rng.choice((1, 1, 2, 3)) + 1):
                    pi = rng.randrange(len(products))
                    product = products[pi]
                    qty = 1 if rng.random() < 0.85 else 2
                    serials = []
                    if product["returnable"] == "true" or int(product["warranty_months"]) >= 12:
                        for _ in range(qty):
                            serial = f"{product['sku'][3:5]}{rng.randint(10**7, 10**8 - 1)}"
                            serials.append(serial)
                            aid = new_id(ordered)
                            purchased = datetime.fromtimestamp(ordered, timezone.utc).date()
                            warranty_end = add_months(purchased, int(product["warranty_months"]))
                            lid = None  # filled below
                            owned.append((aid, pi))
                            asset_rows.append([aid, 0, fmt(ordered), fmt(ordered), 0, cid, product["id"], serial,
                                               purchased.isoformat(), warranty_end.isoformat(),
                                               f"{street}, {postcode} {city['city']}", lid])
                    lid = new_id(ordered)
                    for row in asset_rows[len(asset_rows) - len(serials):]:
                        row[11] = lid
                    price = Decimal(product["unit_price"])
                    total += price * qty
                    line_rows.append((lid, 0, fmt(ordered), fmt(ordered), 0, oid, line_no, product["id"], qty,
                                      str(price), json.dumps(serials)))
                order_rows.append((oid, 0, fmt(ordered), fmt(ordered), 0, f"SO-{order_no}", cid, fmt(ordered),
                                   rng.choice(("store", "web", "web", "phone")), "EUR", str(total)))
            customer_assets.append(owned)
        sync_cols = ("id", "version", "created_at", "updated_at", "deleted")
        bulk.insert("customers", sync_cols + ("kind", "name", "email", "phone", "phone_digits", "address", "postcode",
                                              "city", "country", "parent_id", "tier", "verification"), cust_rows)
        bulk.insert("sales_orders", sync_cols + ("number", "customer_id", "ordered_at", "channel", "currency", "total"),
                    order_rows)
        bulk.insert("sales_order_lines", sync_cols + ("order_id", "line_no", "product_id", "quantity", "unit_price",
                                                      "serials"), line_rows)
        bulk.insert("assets", sync_cols + ("customer_id", "product_id", "serial_number", "purchase_date",
                                           "warranty_end", "location", "order_line_id"), map(tuple, asset_rows))
        summary.products, summary.customers = len(products), len(cust_rows)
        summary.orders, summary.assets = len(order_rows), len(asset_rows)
        summary.agents, summary.queues = len(agent_rows) + 1, len(queue_ids)
        del cust_rows, order_rows, line_rows, asset_rows

        # --- cases and timelines ------------------------------------------------------------------
        # Generated in a child process while this one writes (see _in_producer).
        by_state = {"active": 0, "resolved": 0, "cancelled": 0}


        n_activities = 0
        ctx = _CaseContext(rng, days, now_ts, cases, templates, n_customers, customer_ids, customer_assets, products,
                           queue_ids, category_ids, creators, workers, login_of, new_id, fmt, full_timelines)
        for case_rows, act_rows, written in _in_producer(lambda: _case_batches(ctx)):
            bulk.insert("cases", CASE_COLUMNS, case_rows)
            bulk.insert("activities", ACTIVITY_COLUMNS, act_rows)
            n_activities += len(act_rows)
            for row in case_rows:
                by_state[row[16]] += 1
            if progress and written:
                progress(written)
        bulk.execute("INSERT OR REPLACE INTO number_sequences (prefix, next_value) VALUES ('CAS', ?)", [cases + 1])
        bulk.execute("UPDATE agents SET created_at = ?, updated_at = ? WHERE id = ?", [stamp, stamp, admin_id])
        bulk.finish(before_rename=lambda work: _load_articles(work, summary))
    summary.cases = cases
    summary.activities = n_activities
    summary.by_state = by_state
    summary.seconds = _time.perf_counter() - started
    return summary


AGENTS_BY_LOGIN = {a[0]: a for a in AGENTS}


def _load_articles(work: Path, summary: DemoSummary) -> None:
    """Publish the shipped knowledge articles (data/kb) and apply the demo's operations
    file (data/ops/demo.toml: calendars, SLAs, routing) through the services, as admin.

    Like the rest of the demo they are a baseline, not local work: their outbox ops are
    dropped. No search index is touched here; the first search builds it beside the store.
    The bulk-loaded cases keep no SLA deadlines; cases created from then on get them."""
    from caseterm.services import kb, ops
    from caseterm.store.uow import LocalStore, UnitOfWork

    folder = data_dir() / "kb"
    operations = data_dir() / "ops" / "demo.toml"
    store = LocalStore.open(work)
    try:
        factory = lambda: UnitOfWork(store.engine, store.clock, store.settings)  # noqa: E731
        if folder.is_dir():
            report = kb.import_paths(factory, "admin", [folder])
            summary.articles = len(report.created) + len(report.updated) + len(report.unchanged)
        if operations.is_file():
            ops.apply_text(factory, "admin", operations.read_text(encoding="utf-8"))
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM outbox")
    finally:
        store.close()


@dataclass
class _CaseContext:
    """What the case generator needs from the rest of the build (it runs in a child process)."""

    rng: random.Random
    days: int
    now_ts: int
    cases: int
    templates: dict
    n_customers: int
    customer_ids: list
    customer_assets: list
    products: list
    queue_ids: list
    category_ids: dict
    creators: list
    workers: dict
    login_of: dict
    new_id: Callable[[int], str]
    fmt: Callable[[int | None], str | None]
    full_timelines: bool


def _case_batches(ctx: _CaseContext):
    """Yield (case rows, activity rows, cases in the batch), 20,000 cases at a time, each
    case with a timeline shaped like the one services.cases writes."""
    (rng, days, now_ts, cases, templates, n_customers, customer_ids, customer_assets, products, queue_ids,
     category_ids, creators, workers, login_of, new_id, fmt, full_timelines) = (
        ctx.rng, ctx.days, ctx.now_ts, ctx.cases, ctx.templates, ctx.n_customers, ctx.customer_ids,
        ctx.customer_assets, ctx.products, ctx.queue_ids, ctx.category_ids, ctx.creators, ctx.workers,
        ctx.login_of, ctx.new_id, ctx.fmt, ctx.full_timelines)
    # random.random() and int() cost a fraction of randrange()/choice() in CPython;
    # a million cases make that the difference (same seed, same store)
    rand = rng.random

    def below(n: int) -> int:
        return int(rand() * n)

    def pick(seq):
        return seq[int(rand() * len(seq))]

    window = days * DAY
    created = sorted(now_ts - 300 - below(window) for _ in range(cases))
    pick_origin = _weighted(rng, _ORIGINS)
    pick_priority = _weighted(rng, _PRIORITIES)
    pick_active = _weighted(rng, _ACTIVE_STATUSES)
    category_templates = {k: v for k, v in templates.items() if not k.startswith("_")}
    generic = templates["_generic"]
    recent_by_customer: dict[int, list[tuple[str, str, str]]] = {}  # customer index -> [(case id, number, state)]
    case_rows: list[tuple] = []
    act_rows: list[tuple] = []
    batch = 20_000
    pending = 0

    def act(case_id, ts, kind, author, subject="", body="", direction="none", duration=None,
            visibility="internal", event=None, data=None):
        at = fmt(ts)
        act_rows.append((new_id(ts), 0, at, at, 0, case_id, kind, direction, subject, body, author, at,
                         duration, visibility, event, data, "[]"))

    for seq, ts in enumerate(created, start=1):
        age = now_ts - ts
        ci = below(n_customers)
        cust = customer_ids[ci]
        owned = customer_assets[ci]
        asset_id = product_idx = None
        if owned and rand() < 0.75:
            asset_id, product_idx = pick(owned)
        elif rand() < 0.6:
            product_idx = below(len(products))
        product = products[product_idx] if product_idx is not None else None
        template = pick(category_templates[product["category"]] if product else generic)
        title = template["title"].replace("{product}", product["name"]) if product else template["title"]
        origin = pick_origin()
        priority = pick_priority()
        kind = template["type"]
        if origin == "field" or (product and product["category"] in _FIELD_CATEGORIES and rand() < 0.08):
            qi = 4
        elif kind == "complaint" and ("return" in template["title"].lower() or "refund" in template["title"].lower()):
            qi = 2
        elif not product and ("bill" in title.lower() or "invoice" in title.lower() or "charge" in title.lower()):
            qi = 3
        elif product and product["category"] in _TECH_CATEGORIES:
            qi = 1
        else:
            qi = 0
        queue = queue_ids[qi]
        category = category_ids[product["category"]] if product else category_ids[
            "Billing" if qi == 3 else pick(("Delivery", "Account"))]
        creator = pick(creators)
        # state by age: old cases are mostly finished
        roll = rand()
        if age > 14 * DAY:
            state = "resolved" if roll < 0.88 else "cancelled" if roll < 0.95 else "active"
        elif age > 3 * DAY:
            state = "resolved" if roll < 0.6 else "cancelled" if roll < 0.65 else "active"
        else:
            state = "resolved" if roll < 0.15 else "active"
        status = pick_active() if state == "active" else (
            template["resolution_kind"] if state == "resolved" else "cancelled")
        owner = None if state == "active" and status == "new" and rand() < 0.7 else pick(workers[qi])
        if state == "active" and owner is None:
            status = "new"
        case_id = new_id(ts)
        number = f"CAS-{DEMO_DEVICE}-{seq:06d}"
        parent_id = merged_into = None
        earlier = recent_by_customer.get(ci)
        if earlier and state != "resolved":
            # a duplicate of the customer's previous case, or a follow-up under an open one
            target_id, target_number, target_state = earlier[-1]
            if state == "cancelled" and rand() < 0.4:
                status, merged_into = "merged", (target_id, target_number)
            elif target_state == "active" and rand() < 0.15:
                parent_id = (target_id, target_number)
        resolved_ts = cancelled_ts = None
        resolution = None
        end_ts = now_ts
        if state == "resolved":
            resolved_ts = ts + min(age - 60, 1800 + below(10 * DAY))
            resolution = template["resolution"]
            end_ts = resolved_ts
        elif state == "cancelled":
            cancelled_ts = ts + min(age - 60, 600 + below(3 * DAY))
            end_ts = cancelled_ts
        reopened = state == "resolved" and rand() < 0.03 and resolved_ts - ts > 4 * DAY
        desc = template["description"]
        who = login_of[creator]

        # timeline (shaped like services.cases writes it)
        act(case_id, ts, "system", creator, "Created",
            f"Case created by {who} via {origin}; queue {QUEUES[qi][0]}",
            event="created", data=f'{{"origin":"{origin}","priority":{priority}}}')
        if not full_timelines:
            pass  # benchmark scale: the created and closing events only
        elif origin == "phone":
            act(case_id, ts, "phone_call", creator, "Incoming call", desc, "inbound", 120 + below(900))
        elif origin == "email":
            act(case_id, ts, "email_in", None, title, desc, "inbound", visibility="customer")
        step = max(60, (end_ts - ts) // 6)
        t = ts + 60 + below(step)
        if owner and full_timelines:
            act(case_id, min(t, end_ts), "system", creator, "Assigned",
                f"Assigned: owner nobody → {login_of[owner]}", event="assigned",
                data=f'{{"owner":"{login_of[owner]}","queue":null}}')
        if full_timelines and owner and status != "new":
            t = min(t + 60 + below(step), end_ts)
            act(case_id, t, "system", owner, "Status changed",
                "Status Active (new) → Active (in progress)", event="status_changed",
                data='{"from":"new","to":"in_progress"}')
            notes = template["notes"] if state != "active" else template["notes"][: 1 + below(2)]
            for note in notes[: 3 if full_timelines else 1]:
                t = min(t + 60 + below(step), end_ts)
                act(case_id, t, "note", owner, "", note)
            if origin in ("email", "web") and rand() < 0.7:
                t = min(t + 60 + below(step), end_ts)
                act(case_id, t, "email_out", owner, f"Re: {title}",
                    "Thank you for getting in touch. We are looking into this and will update you shortly.",
                    "outbound", visibility="customer")
            if state == "active" and status not in ("new", "in_progress"):
                t = min(t + 60, end_ts)
                act(case_id, t, "system", owner, "Status changed",
                    f"Status Active (in progress) → Active ({status.replace('_', ' ')})",
                    event="status_changed", data=f'{{"from":"in_progress","to":"{status}"}}')
        if reopened:
            first_resolved = ts + (resolved_ts - ts) // 3
            act(case_id, first_resolved, "system", owner or creator, "Resolved",
                f"Resolved ({status.replace('_', ' ')}) by {login_of[owner or creator]}: {resolution}",
                event="resolved", data=f'{{"forced":false,"kind":"{status}"}}')
            act(case_id, first_resolved + DAY, "system", owner or creator, "Reopened",
                f"Reopened by {login_of[owner or creator]} from Resolved ({status.replace('_', ' ')}): "
                "customer reports the problem is back", event="reopened",
                data=f'{{"from":"{status}","reason":"customer reports the problem is back"}}')
        if state == "resolved":
            act(case_id, resolved_ts, "system", owner or creator, "Resolved",
                f"Resolved ({status.replace('_', ' ')}) by {login_of[owner or creator]}: {resolution}",
                event="resolved", data=f'{{"forced":false,"kind":"{status}"}}')
        elif merged_into:
            act(case_id, cancelled_ts, "system", owner or creator, "Merged",
                f"Merged into {merged_into[1]} by {login_of[owner or creator]}", event="merged",
                data=f'{{"master":"{merged_into[1]}"}}')
        elif state == "cancelled":
            act(case_id, cancelled_ts, "system", owner or creator, "Cancelled",
                f"Cancelled by {login_of[owner or creator]}: customer withdrew the request", event="cancelled",
                data='{"reason":"customer withdrew the request"}')
        updated = fmt(end_ts if state != "active" else max(ts, min(t, now_ts)))
        case_rows.append((
            case_id, 0, fmt(ts), updated, 0, number, title, desc, cust, None, asset_id,
            product["id"] if product else None, origin, kind, category, priority, state, status, queue, owner,
            creator, parent_id[0] if parent_id else None, merged_into[0] if merged_into else None,
            0, False, False, False, resolution, fmt(resolved_ts), fmt(cancelled_ts), 1 if reopened else 0,
            (pick((3, 4, 4, 5, 5, 5, 2, 1)) if state == "resolved" and rand() < 0.4 else None),
        ))
        recent = recent_by_customer.setdefault(ci, [])
        recent.append((case_id, number, state))
        if len(recent) > 3:
            recent.pop(0)
        pending += 1
        if len(case_rows) >= batch:
            yield case_rows, act_rows, pending
            case_rows, act_rows = [], []
            pending = 0
    yield case_rows, act_rows, pending


def _in_producer(make_batches):
    """Yield the batches of ``make_batches()`` generated in a forked child process, so
    generating (Python) and writing (SQLite) run on two cores. The child inherits the
    generator's state by fork, so the output is the same as generating in-process, which
    is what happens where fork is not available."""
    import multiprocessing
    import traceback

    if "fork" not in multiprocessing.get_all_start_methods():
        yield from make_batches()
        return
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def produce() -> None:
        receiver.close()
        try:
            for item in make_batches():
                sender.send(("batch", item))
            sender.send(("done", None))
        except BaseException:  # reported to the parent, which raises
            sender.send(("error", traceback.format_exc()))
        finally:
            sender.close()
            os._exit(0)  # never run the parent's clean-up (its open store) in the child

    child = ctx.Process(target=produce, name="demo-generator", daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise RuntimeError("the demo generator stopped unexpectedly") from None
            if kind == "batch":
                yield payload
            elif kind == "error":
                raise RuntimeError(f"the demo generator failed:\n{payload}")
            else:
                break
    finally:
        receiver.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
