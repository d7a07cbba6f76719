"""Scenarios in the shared database, so a scenario added through any replica applies on all,
and `times` and `after` count the fleet's calls: a `times: 1` scenario fires once in the fleet.

Each replica matches against its own copy of the list (a request that meets no scenario costs
no round trip), kept current by `LISTEN falfake_scenarios`: a replica that adds or removes one
notifies, and the others read the list again (within milliseconds; the replica that made the
change sees it at once). A match is counted by one `UPDATE … RETURNING`, which also tells
whether the scenario is used up elsewhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from falfake.harness.scenarios import Call, Scenario, listing, matches, wanting_body
from falfake.runtime.postgres.database import Database, blocking, connected

CHANNEL = "falfake_scenarios"
_ROWS = "SELECT id, scenario, matched FROM falfake_scenarios ORDER BY id"


class PostgresScenarios:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._active: list[tuple[int, Scenario]] = blocking(self._read_once())
        self._reading: asyncio.Task[None] | None = None
        self._stale = False  # a change was told since the list was last read

    def __bool__(self) -> bool:
        self._db.listen(CHANNEL, self._changed)
        return bool(self._active)

    def wants_body(self, operation: str) -> bool:
        return wanting_body((s for _, s in self._active), operation)

    async def match(self, call: Call) -> Scenario | None:
        for scenario_id, scenario in self._active:
            if not matches(scenario, call):
                continue
            counted = await self._db.fetchval(
                "UPDATE falfake_scenarios SET matched = matched + 1 WHERE id = $1"
                " AND (times IS NULL OR matched < after + times) RETURNING matched",
                scenario_id,
            )
            if counted is None or counted <= scenario.after:
                continue  # used up (or removed) elsewhere, or a call `after` lets pass
            return scenario
        return None

    async def add(self, scenario: Scenario) -> int:
        scenario_id = int(
            await self._db.fetchval(
                "WITH added AS (INSERT INTO falfake_scenarios (scenario, after, times)"
                " VALUES ($1, $2, $3) RETURNING id)"
                f" SELECT id FROM added, pg_notify('{CHANNEL}', '')",
                _stored(scenario),
                scenario.after,
                scenario.times,
            )
        )
        self._active = [*self._active, (scenario_id, scenario)]
        return scenario_id

    def preload(self, scenarios: Sequence[Scenario], source: str) -> None:
        blocking(self._preload(scenarios, source))

    async def remove(self, scenario_id: int) -> bool:
        removed = await self._db.fetchval(
            "WITH gone AS (DELETE FROM falfake_scenarios WHERE id = $1 RETURNING id)"
            f" SELECT count(*) FROM gone, pg_notify('{CHANNEL}', '')",
            scenario_id,
        )
        self._active = [(i, s) for i, s in self._active if i != scenario_id]
        return bool(removed)

    async def clear(self) -> None:
        await self._db.execute(f"DELETE FROM falfake_scenarios; NOTIFY {CHANNEL}")
        self._active = []

    async def listed(self) -> list[dict[str, Any]]:
        rows = await self._db.fetch(_ROWS)
        return [listing(row["id"], _read(row["scenario"]), row["matched"]) for row in rows]

    def _changed(self) -> None:
        """Read the list again soon (changes that come together are read once, and a change
        told while a read is under way is read after it: that read may have missed it)."""
        self._stale = True
        if self._reading is None or self._reading.done():
            self._reading = asyncio.get_running_loop().create_task(self._read_again())

    async def _read_again(self) -> None:
        from falfake.errors import StorageUnavailable

        while self._stale:
            self._stale = False
            try:
                rows = await self._db.fetch(
                    "SELECT id, scenario FROM falfake_scenarios ORDER BY id"
                )
            except StorageUnavailable:
                return  # the listener reads again once it is back
            known = dict(self._active)
            self._active = [
                (row["id"], known.get(row["id"]) or _read(row["scenario"])) for row in rows
            ]

    async def _read_once(self) -> list[tuple[int, Scenario]]:
        async with connected(self._db.url) as connection:
            rows = await connection.fetch(_ROWS)
        return [(row["id"], _read(row["scenario"])) for row in rows]

    async def _preload(self, scenarios: Sequence[Scenario], source: str) -> None:
        async with connected(self._db.url) as connection, connection.transaction():
            # Replicas started together with one file add it once.
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", source)
            if not await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM falfake_scenarios WHERE source = $1)", source
            ):
                for scenario in scenarios:
                    await connection.execute(
                        "INSERT INTO falfake_scenarios (scenario, after, times, source)"
                        " VALUES ($1, $2, $3, $4)",
                        _stored(scenario),
                        scenario.after,
                        scenario.times,
                        source,
                    )
                await connection.execute(f"NOTIFY {CHANNEL}")
        self._active = await self._read_once()


def _stored(scenario: Scenario) -> str:
    return json.dumps(asdict(scenario), separators=(",", ":"))


def _read(text: str) -> Scenario:
    from falfake.http.bodies import SCENARIO, parse_json  # pydantic, on first use

    return parse_json(SCENARIO, text.encode(), "application/json")
