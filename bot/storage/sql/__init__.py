"""The stores' SQL and logic, written once for every backend against `SqlConnection`.

Nothing here imports a backend or a driver: each backend (bot.storage.sqlite,
bot.storage.postgres) wraps its connection in an adapter that implements `SqlConnection`.
"""
