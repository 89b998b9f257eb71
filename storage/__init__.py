"""SQLite storage: the schema, the one writer, and small read/write functions."""
