"""Alembic environment: always run against the connection the hub hands over."""
from alembic import context

from jinbao.schemas.store_tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
