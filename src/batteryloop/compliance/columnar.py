"""The columnar engine of producers' and regulators' reports: DuckDB over the ledger's events (its Parquet
export, or events read from the ledger as Arrow), folded once into per-battery facts and refreshed
incrementally: new events are folded on their own and merged into the facts (first values keep the older
side, last values the newer), so a refresh costs the new events plus one merge, not the whole ledger.

The fold and merge SQL lives in :mod:`batteryloop.compliance.core.epr` in the dialect DuckDB and Spark share;
the report queries below read only the small derived tables (facts, contacts, uploads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from batteryloop.compliance.core import epr
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation
from batteryloop.domain.payloads import LOT_ELEMENTS
from batteryloop.domain.registration import ProducerRegistration

__all__ = ["EVENT_SCHEMA", "Warehouse", "events_to_arrow"]

EVENT_SCHEMA = pa.schema(
    [
        ("position", pa.int64()),
        ("battery_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("actor", pa.string()),
        ("payload", pa.string()),
    ]
)
_CHANNEL_ROLES = ("recycler", "second_life_operator")


def events_to_arrow(events: Iterable[Any]) -> pa.Table:
    """Recorded events (the ledger's ``iter_events``) as the columns the fold reads."""
    cols: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    for e in events:
        cols["position"].append(e.position)
        cols["battery_id"].append(e.battery_id)
        cols["event_type"].append(str(e.event_type))
        cols["occurred_at"].append(e.occurred_at)
        cols["recorded_at"].append(e.recorded_at)
        cols["actor"].append(e.actor)
        cols["payload"].append(orjson.dumps(e.payload).decode())
    return pa.table(cols, schema=EVENT_SCHEMA)


@dataclass
class Warehouse:
    """Per-battery facts, channel contacts, traceability uploads and custody steps folded from events up to ``position``."""

    upload_event_types: tuple[str, ...]
    threads: int | None = None

    def __post_init__(self) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        if self.threads:
            self.con.execute(f"SET threads = {int(self.threads)}")
        self.position = 0
        self.events = 0
        self.lock = threading.Lock()
        self._have_facts = False
        # Pre-aggregated tables kept in step with the facts: name -> (SQL over (facts, contacts), group keys);
        # the channel groups by the organisations eligible as compliant channels (a pack's schemes).
        self._groups: dict[str, tuple[Callable[[str, str], str], tuple[str, ...]]] = {}
        self._channel_groups: dict[tuple[Any, ...], str] = {}
        self.con.execute("CREATE TABLE channel_orgs (org_id VARCHAR)")
        self.set_organisations(())
        self.set_registrations(())

    # ------------------------------------------------------------------ reference tables (small)
    def set_organisations(self, orgs: Iterable[Organisation]) -> None:
        orgs = list(orgs)
        rows = [(o.org_id, o.country, o.name) for o in orgs]
        roles = [(o.org_id, str(r)) for o in orgs for r in o.roles]
        certs = [
            (o.org_id, str(c.scheme), c.valid_from, c.valid_until) for o in orgs for c in o.certifications
        ]
        con = self.con
        con.execute("CREATE OR REPLACE TABLE orgs (org_id VARCHAR, country VARCHAR, name VARCHAR)")
        con.execute("CREATE OR REPLACE TABLE org_roles (org_id VARCHAR, role VARCHAR)")
        con.execute(
            "CREATE OR REPLACE TABLE certs (org_id VARCHAR, scheme VARCHAR, valid_from DATE, valid_until DATE)"
        )
        if rows:
            con.executemany("INSERT INTO orgs VALUES (?, ?, ?)", rows)
        if roles:
            con.executemany("INSERT INTO org_roles VALUES (?, ?)", roles)
        if certs:
            con.executemany("INSERT INTO certs VALUES (?, ?, ?, ?)", certs)
        known = {r[0] for r in con.execute("SELECT org_id FROM channel_orgs").fetchall()}
        wanted = {org for org, role in roles if role in _CHANNEL_ROLES}
        if not wanted <= known:
            # A new channel organisation: its earlier contacts were not kept, so refold from scratch.
            con.execute("DELETE FROM channel_orgs")
            if wanted:
                con.executemany("INSERT INTO channel_orgs VALUES (?)", [(o,) for o in sorted(wanted)])
            if self._have_facts:
                self.stale = True

    def set_registrations(self, registrations: Iterable[ProducerRegistration]) -> None:
        rows = [
            (r.producer, r.country, cat, chem, r.pro, r.registered_on)
            for r in registrations
            for cat in r.categories
            for chem in r.chemistries
        ]
        self.con.execute(
            "CREATE OR REPLACE TABLE regs (producer VARCHAR, country VARCHAR, category VARCHAR, "
            "chemistry VARCHAR, pro VARCHAR, registered_on DATE)"
        )
        if rows:
            self.con.executemany("INSERT INTO regs VALUES (?, ?, ?, ?, ?, ?)", rows)

    stale: bool = False
    # Results derived from the folded tables, each stored with the (position, events) it was computed at and
    # recomputed when they change (the recyclers' lots, the traceability findings of every actor).
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ folding events
    def ingest_parquet(self, paths: Sequence[Path | str]) -> int:
        """Fold the events of Parquet files (the ledger's export, or parts of it) after ``position``."""
        missing = [str(p) for p in paths if not Path(p).exists()]
        if missing:
            raise NotFoundError(f"Parquet file {missing[0]} does not exist")
        files = ", ".join(f"'{Path(p).as_posix()}'" for p in paths)
        rel = (
            f"(SELECT position, battery_id, event_type, occurred_at, recorded_at, actor, payload "
            f"FROM read_parquet([{files}]) WHERE position > {int(self.position)})"
        )
        return self._ingest(rel)

    def ingest_arrow(self, table: pa.Table) -> int:
        self.con.register("_delta_arrow", table)
        try:
            return self._ingest(f"(SELECT * FROM _delta_arrow WHERE position > {int(self.position)})")
        finally:
            self.con.unregister("_delta_arrow")

    def _ingest(self, rel: str) -> int:
        """Fold the events of relation ``rel`` and merge them into the facts.

        ``rel`` is read as a view, not copied: each fold reads only its event types and columns from it
        (projection and filter pushdown into the Parquet scan), which costs less than materialising every
        event once. A refresh recomputes only the batteries the new events touch: their old facts are merged
        with the new ones and replace them, the other rows stay as they are."""
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP VIEW delta AS {rel}")
        try:
            return self._fold_delta()
        finally:
            con.execute("DROP VIEW IF EXISTS delta")

    def _fold_delta(self) -> int:
        con = self.con
        n, top = con.execute("SELECT count(*), max(position) FROM delta").fetchone() or (0, None)
        if not n:
            if not self._have_facts:  # an empty ledger: empty tables of the right shape
                con.execute(f"CREATE OR REPLACE TABLE facts AS {epr.facts_sql('delta')}")
                con.execute(
                    f"CREATE OR REPLACE TABLE contacts AS {epr.contacts_sql('delta', 'channel_orgs')}"
                )
                con.execute(
                    f"CREATE OR REPLACE TABLE uploads AS {epr.uploads_sql('delta', self.upload_event_types)}"
                )
                con.execute(f"CREATE OR REPLACE TABLE steps AS {epr.steps_sql('delta')}")
                self._lots("CREATE OR REPLACE TABLE {table} AS")
                self._have_facts = True
            return 0
        if self._have_facts:
            con.execute(f"CREATE OR REPLACE TEMP TABLE delta_facts AS {epr.facts_sql('delta')}")
            self._refuse_repeats("delta_facts")
            touched = "(SELECT battery_id FROM delta_facts)"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE touched_facts AS SELECT * FROM facts WHERE battery_id IN {touched}"
            )
            con.execute(
                "CREATE OR REPLACE TEMP TABLE merged_facts AS "
                + epr.merge_facts_sql("touched_facts", "delta_facts")
            )
            if self._groups:
                # the touched batteries' groups before the refresh, to take out of the group tables
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE touched_contacts AS "
                    f"SELECT * FROM contacts WHERE battery_id IN {touched}"
                )
                for name, (make, _keys) in self._groups.items():
                    con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {name}_old AS {make('touched_facts', 'touched_contacts')}"
                    )
            con.execute(f"DELETE FROM facts WHERE battery_id IN {touched}")
            con.execute("INSERT INTO facts SELECT * FROM merged_facts")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE delta_contacts AS {epr.contacts_sql('delta', 'channel_orgs')}"
            )
            con.execute("INSERT INTO contacts SELECT * FROM delta_contacts")
            if self._groups:
                con.execute("INSERT INTO touched_contacts SELECT * FROM delta_contacts")
                for name, (make, keys) in self._groups.items():
                    con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {name}_new AS {make('merged_facts', 'touched_contacts')}"
                    )
                    con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {name}_merged AS "
                        + epr.merge_groups_sql(name, f"{name}_old", f"{name}_new", keys)
                    )
                    con.execute(f"DELETE FROM {name}")
                    con.execute(f"INSERT INTO {name} SELECT * FROM {name}_merged")
                    for part in ("old", "new", "merged"):
                        con.execute(f"DROP TABLE {name}_{part}")
                con.execute("DROP TABLE touched_contacts")
            con.execute(f"INSERT INTO uploads {epr.uploads_sql('delta', self.upload_event_types)}")
            con.execute(f"INSERT INTO steps {epr.steps_sql('delta')}")
            self._lots("INSERT INTO {table}")
            for table in ("delta_facts", "touched_facts", "merged_facts", "delta_contacts"):
                con.execute(f"DROP TABLE {table}")
        else:
            con.execute(f"CREATE OR REPLACE TABLE facts AS {epr.facts_sql('delta')}")
            try:
                self._refuse_repeats("facts")
            except ValidationError:
                con.execute("DROP TABLE facts")
                raise
            con.execute(f"CREATE OR REPLACE TABLE contacts AS {epr.contacts_sql('delta', 'channel_orgs')}")
            con.execute(
                f"CREATE OR REPLACE TABLE uploads AS {epr.uploads_sql('delta', self.upload_event_types)}"
            )
            con.execute(f"CREATE OR REPLACE TABLE steps AS {epr.steps_sql('delta')}")
            self._lots("CREATE OR REPLACE TABLE {table} AS")
            self._have_facts = True
        self.position = int(top)
        self.events += int(n)
        return int(n)

    def _refuse_repeats(self, facts: str) -> None:
        """ValidationError, before anything is merged, when the folded events give a battery two rows of facts:
        they repeat an event the ledger admits once per battery (``epr.ONCE_PER_BATTERY``), so they are not a
        ledger's (two exports holding the same events, say)."""
        dup = self.con.execute(
            f"SELECT battery_id FROM {facts} GROUP BY battery_id HAVING count(*) > 1 LIMIT 1"
        ).fetchall()
        if not dup:
            return
        counts = self.con.execute(epr.once_event_counts_sql("delta")).fetchall()
        repeated = [f"{n:,} {event} events of {b:,} batteries" for event, n, b in counts if n > b]
        raise ValidationError(
            f"the events hold {'; '.join(repeated) or 'a once-per-battery event twice'} (battery "
            f"{dup[0][0]!r}, for one); a ledger admits one of each per battery ({', '.join(epr.ONCE_PER_BATTERY)}): "
            "are two exports overlapping?"
        )

    def _lots(self, verb: str) -> None:
        """The recyclers' lot events as rows (``lot_in``: batteries received, ``lot_out``: output lots)."""
        els = tuple(LOT_ELEMENTS)
        self.con.execute(f"{verb.format(table='lot_in')} {epr.lot_inputs_sql('delta', els)}")
        self.con.execute(f"{verb.format(table='lot_out')} {epr.lot_outputs_sql('delta', els)}")

    # ------------------------------------------------------------------ pre-aggregated tables
    def channel_groups(self, eligible: Sequence[tuple[str, date, date | None]]) -> str:
        """The table of :func:`epr.channel_groups_sql` for the organisations ``eligible`` as compliant
        channels (org_id, valid_from, valid_until), built on first use and kept in step with every refresh
        (the touched batteries' rows out, their new rows in); returns its name."""
        key = tuple(sorted(set(eligible), key=repr))
        name = self._channel_groups.get(key)
        if name is None:
            n = len(self._channel_groups)
            name, elig = f"channel_groups_{n}", f"channel_eligible_{n}"
            self.con.execute(
                f"CREATE OR REPLACE TABLE {elig} (org_id VARCHAR, valid_from DATE, valid_until DATE)"
            )
            if key:
                self.con.executemany(f"INSERT INTO {elig} VALUES (?, ?, ?)", list(key))

            def make(facts: str, contacts: str, elig: str = elig) -> str:
                return epr.channel_groups_sql(facts, contacts, elig)

            self._add_groups(name, make, epr.CHANNEL_GROUP_KEYS)
            self._channel_groups[key] = name
        return name

    @staticmethod
    def channel_eligible(groups: str) -> str:
        """The table of eligible organisations a table of :meth:`channel_groups` was built with."""
        return groups.replace("channel_groups_", "channel_eligible_", 1)

    def performance_groups(self) -> str:
        """The table of :func:`epr.performance_groups_sql`, built on first use and kept in step."""
        name = "performance_groups"
        if name not in self._groups:

            def make(facts: str, _contacts: str) -> str:
                return epr.performance_groups_sql(facts)

            self._add_groups(name, make, epr.PERFORMANCE_GROUP_KEYS)
        return name

    def _add_groups(self, name: str, make: Callable[[str, str], str], keys: tuple[str, ...]) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {make('facts', 'contacts')}")
        self._groups[name] = (make, keys)

    @property
    def ready(self) -> bool:
        return self._have_facts

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def as_date(value: date | datetime | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value
