"""Routes one Incoming to replies: command > group etiquette > pending choice > form > FAQ.

`Engine` lives in `bot.engine.core`; this package imports nothing on its own so that
`beian-bot ask`, which needs only `bot.engine.texts`, does not pay for the dialogue.
"""
