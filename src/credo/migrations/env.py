"""Alembic environment: runs against the engine handed over in the config's attributes."""

from __future__ import annotations

from alembic import context

from credo.adapters.db.tables import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    # Migrations take the SQLite write lock like any writer; DDL is transactional on both.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
