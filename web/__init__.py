"""The team's web dashboard, served by the same process as the bot (one writer).

See ``web/app.py`` for how it is put together, and the README's "The team's
dashboard" for what it does."""
