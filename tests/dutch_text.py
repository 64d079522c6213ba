"""Finding English left on a Dutch page: the sentences the English rendering of the same page shows word for
word. Used by tests/postbode/test_dutch_pages.py (customer pages) and test_admin_dutch.py (the staff admin)."""

import re
from html.parser import HTMLParser

# Text in the demo's own data, the same in both languages (an English-speaking customer's words, a DNS record,
# a mail server's answer): not ours to translate.
DEMO_DATA = ["Out of office", "We are away for Christmas", " IN TXT ", "address rejected"]
ENGLISH_WORD = re.compile(
    r"\b(the|is|are|was|your|you|to|of|and|this|for|with|not|yet|will|be|has|have|from|on|it|by|or|can|an)\b",
    re.IGNORECASE,
)


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes, and the attributes buttons and images speak with."""

    SPOKEN = ("title", "placeholder", "aria-label", "alt", "data-copied")

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")
        self.texts += [" ".join(value.split()) for name, value in attrs if name in self.SPOKEN and value]

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


def english_left(nl_html: str, en_html: str) -> list[str]:
    """Sentences of the Dutch page that the English page shows word for word: text that was not translated
    (a string outside the catalogue, a lazy string under a name makemessages does not know, plain English)."""
    english = set(visible_texts(en_html))
    return sorted(
        {
            text
            for text in visible_texts(nl_html)
            if text in english
            and " " in text
            and ENGLISH_WORD.search(text)
            and len(re.findall(r"[A-Za-z]{2,}", text)) >= 3
            and not any(data in text for data in DEMO_DATA)
        }
    )
