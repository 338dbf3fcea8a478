"""Shared foundations of liftwatch: settings, database, migrations and the data contracts."""
