"""The composition root: every entrypoint (API, CLI, worker, tests) builds the app here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import upgrade
from credo.adapters.db.uow import SqlUnitOfWorkFactory
from credo.adapters.keystore import KeyVault, development_master_key, parse_master_key
from credo.adapters.signing.issuer import DataIntegritySigner
from credo.adapters.signing.verifier import DataIntegrityVerifier
from credo.clock import Clock, SystemClock
from credo.services import recipient_links
from credo.services.context import ServiceContext
from credo.services.ports import ProofVerifier, Signer
from credo.services.runner import Runner
from credo.settings import Settings, default_data_dir


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    uow: SqlUnitOfWorkFactory
    runner: Runner
    ctx: ServiceContext

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    signer: Signer | None = None,
    verifier: ProofVerifier | None = None,
    migrate: bool = False,
) -> App:
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    master_key = _master_key(settings)
    signer = signer or DataIntegritySigner(KeyVault(master_key))
    uow = SqlUnitOfWorkFactory(engine)
    ctx = ServiceContext(
        clock=clock,
        signer=signer,
        base_url=settings.base_url.rstrip("/"),
        verifier=verifier or DataIntegrityVerifier(),
        link_secret=recipient_links.derive_secret(master_key),
    )
    return App(settings, engine, clock, uow, Runner(uow, clock), ctx)


def _master_key(settings: Settings) -> bytes:
    if settings.master_key:
        return parse_master_key(settings.master_key)
    # Settings refuses a missing key outside development.
    return parse_master_key(development_master_key(default_data_dir()))
