"""beian-bot: a chat assistant for ICP filing (ICP备案)."""

__version__ = "0.1.0"
