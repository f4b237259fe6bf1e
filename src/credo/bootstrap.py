"""The composition root: every entrypoint (API, CLI, worker, tests) builds the app here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import upgrade
from credo.adapters.db.uow import SqlUnitOfWorkFactory
from credo.clock import Clock, SystemClock
from credo.services.runner import Runner
from credo.settings import Settings


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    uow: SqlUnitOfWorkFactory
    runner: Runner

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    migrate: bool = False,
) -> App:
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    uow = SqlUnitOfWorkFactory(engine)
    return App(settings, engine, clock, uow, Runner(uow, clock))
