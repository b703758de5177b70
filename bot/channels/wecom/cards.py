"""Choices as a button card (按钮交互模版卡片), and what a press on one of its buttons means.

A reply with choices goes out as a `button_interaction` template card when WeCom's limits
allow it (https://developer.work.weixin.qq.com/document/path/101032): at most 6 buttons, a
button's text "建议不超过10个字", the title 26 characters, the text under it 112; anything
beyond them, or a message that must name its user (a card cannot @mention), stays numbered
text, which a typed number answers as before.

Each card gets a random task_id and each button an opaque random key; `CardOffers` keeps
which value a key stands for and whom the card was for, like Telegram's callback keys
(bot/channels/telegram/codec.py). A press by anyone else, or on a card this process no
longer knows (a restart, a week later), changes nothing: the presser is told so.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import BUTTON_TTL, EXPIRED_BUTTON, NOT_YOUR_BUTTON
from bot.messages import Outgoing

BUTTON_INTERACTION = "button_interaction"
MAX_BUTTONS = 6
MAX_LABEL = 10  # characters, WeCom's advice for a button's text
MAX_TITLE = 26  # characters of main_title.title
MAX_DETAIL = 112  # characters of sub_title_text
# Where a title too long for one line may be cut: after a sentence, never inside one.
_SENTENCE_ENDS = "。？！；?!;"
CHOSEN = "已选择：{label}"
# WeCom's button styles are 1 to 4; the chosen one is shown as settled, the others plain.
_STYLE_OFFERED, _STYLE_CHOSEN = 1, 2


def layout(text: str) -> tuple[str, str] | None:
    """(title, the text under it) for a card, or None when the text does not fit one.

    The title is the text's first line; a first line longer than a title is cut after its
    last full sentence that fits, the rest moving under it.
    """
    first, _, rest = text.strip().partition("\n")
    first = first.strip()
    if len(first) > MAX_TITLE:
        cut = max(first.rfind(end, 0, MAX_TITLE) for end in _SENTENCE_ENDS)
        if cut < 0:
            return None
        first, rest = first[: cut + 1], f"{first[cut + 1 :]}\n{rest}"
    rest = rest.strip()
    if not first or len(rest) > MAX_DETAIL:
        return None
    return first, rest


def fits(message: Outgoing) -> bool:
    """Whether the message can be a button card (else it goes as numbered text)."""
    labels = [choice.label.strip() for choice in message.choices]
    return (
        0 < len(labels) <= MAX_BUTTONS
        and all(0 < len(label) <= MAX_LABEL for label in labels)
        and len(set(labels)) == len(labels)
        and message.mention_user_id is None
        and message.document is None
        and layout(message.text) is not None
    )


@dataclass
class _Button:
    label: str
    value: str
    key: str


@dataclass
class _Offer:
    task_id: str
    title: str
    detail: str
    buttons: list[_Button]
    for_user: str | None
    expires: float
    # The key of the one button a settled card keeps; pressing it again changes nothing.
    done_key: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    chosen: str | None = None


@dataclass(frozen=True)
class Press:
    """What a press means: the value to hand the engine (None: nothing to do), the card to
    put in its place (for `userids` only, or everyone when None), or what to tell the presser
    in a message when there is no card to change."""

    value: str | None = None
    card: dict[str, Any] | None = None
    userids: list[str] | None = None
    refusal: str | None = None


class CardOffers:
    """The cards this process sent, by task_id, until they expire or are pushed out."""

    def __init__(
        self,
        capacity: int = 10_000,
        ttl: float = BUTTON_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity, self.ttl, self.clock = capacity, ttl, clock
        self._offers: OrderedDict[str, _Offer] = OrderedDict()

    def card(self, message: Outgoing) -> dict[str, Any]:
        """The template card for a message that `fits`, remembered for its presses."""
        shape = layout(message.text)
        if shape is None or not fits(message):
            raise ValueError("the message does not fit a card; send it as text")
        offer = _Offer(
            task_id=secrets.token_urlsafe(16),
            title=shape[0],
            detail=shape[1],
            buttons=[
                _Button(c.label.strip(), c.value, secrets.token_urlsafe(9))
                for c in message.choices
            ],
            for_user=message.for_user_id,
            expires=self.clock() + self.ttl,
        )
        self._offers[offer.task_id] = offer
        while len(self._offers) > self.capacity:
            self._offers.popitem(last=False)
        return _render(offer)

    def press(self, task_id: str, key: str, presser: str) -> Press:
        """A press of button `key` on card `task_id` by `presser`: what it means."""
        offer = self._offers.get(task_id)
        if offer is None or offer.expires < self.clock():
            return Press(refusal=EXPIRED_BUTTON)
        if offer.chosen is not None:
            if key != offer.done_key and all(b.key != key for b in offer.buttons):
                return Press(refusal=EXPIRED_BUTTON)
            # Pressed again once settled: the presser's copy is shown settled, nothing else.
            return Press(card=_render(offer), userids=[presser])
        button = next((b for b in offer.buttons if b.key == key), None)
        if button is None:
            return Press(refusal=EXPIRED_BUTTON)
        if offer.for_user is not None and offer.for_user != presser:
            # Only the presser's copy changes: the user it was for still has the buttons.
            return Press(
                card=_render(offer, notice=NOT_YOUR_BUTTON),
                userids=[presser],
                refusal=NOT_YOUR_BUTTON,
            )
        offer.chosen = button.label
        return Press(value=button.value, card=_render(offer))


def _render(offer: _Offer, notice: str = "") -> dict[str, Any]:
    """The card as WeCom takes it: offered buttons, or (chosen) the one that was picked."""
    detail = offer.detail
    if offer.chosen is not None:
        detail = "\n".join(filter(None, [detail, CHOSEN.format(label=offer.chosen)]))
        buttons = [{"text": offer.chosen, "style": _STYLE_CHOSEN, "key": offer.done_key}]
    else:
        buttons = [{"text": b.label, "style": _STYLE_OFFERED, "key": b.key} for b in offer.buttons]
    detail = "\n".join(filter(None, [detail, notice]))
    card: dict[str, Any] = {
        "card_type": BUTTON_INTERACTION,
        "main_title": {"title": offer.title},
        "button_list": buttons,
        "task_id": offer.task_id,
    }
    if detail:
        card["sub_title_text"] = detail
    return card
