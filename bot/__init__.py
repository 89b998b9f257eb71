"""copro-bot: the chat-platform-neutral core and the Matrix adapter."""

__version__ = "0.1.0"
