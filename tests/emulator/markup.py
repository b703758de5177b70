"""Telegram's parse modes, as far as the emulator checks them."""

from __future__ import annotations

from html.parser import HTMLParser

_TAGS = "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote"
HTML_TAGS = frozenset(_TAGS.split())


class _HtmlText(HTMLParser):
    """Checks Telegram HTML and collects the plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise ValueError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ValueError(f'Unexpected end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise ValueError("Unexpected end of name token")
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, "?"))

    def handle_charref(self, name: str) -> None:
        self.parts.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))


def render(text: str, parse_mode: str | None) -> str:
    """Plain text after Telegram parses the markup; ValueError where Telegram says 400."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        parser = _HtmlText()
        parser.feed(text)
        parser.close()
        if parser.stack:
            raise ValueError(f'Can\'t find end tag for "{parser.stack[-1]}"')
        return "".join(parser.parts)
    if mode == "markdownv2":
        out: list[str] = []
        i, code, link = 0, False, False
        while i < len(text):
            char = text[i]
            if char == "\\":
                out.append(text[i + 1 : i + 2])
                i += 2
                continue
            if char == "`":
                code = not code
            elif text.startswith("](", i) and not code:
                link, i = True, i + 1
            elif link:
                link = char != ")"
            elif code:
                out.append(char)
            elif char in "#+-={}.!" or (char == ">" and i and text[i - 1] != "\n"):
                raise ValueError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            elif char not in "*_~|[]()>":
                out.append(char)
            i += 1
        return "".join(out)
    return text
