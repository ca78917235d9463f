"""Alembic environment: the URL comes from the caller (adapters.db.upgrade) or DATABASE_URL."""

from alembic import context
from sqlmodel import SQLModel

import adapters.db
from adapters.config import Settings

config = context.config
url = config.attributes.get("url") or Settings.from_env().database_url
connectable = adapters.db.engine(url)

with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
