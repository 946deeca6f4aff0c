"""Alembic environment: always run against the connection the hub hands over (jinbao/store/database.py)."""
from alembic import context

from jinbao.schemas.store_tables import UtcDateTime, metadata


def _render_item(kind, obj, autogen_context):
    """A generated migration (`jinbao db revision`) must not import the hub's code, which changes after
    the migration is written: the store's own column type is written as the SQLAlchemy type it stores."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, render_item=_render_item)
with context.begin_transaction():
    context.run_migrations()
