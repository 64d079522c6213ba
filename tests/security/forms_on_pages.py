"""The forms on the panel's pages, read from their HTML as a browser would, to post hostile values into."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

# Forms that would end the walk (delete the cast, sign out, close the account) are not posted.
DESTRUCTIVE = ("delete", "remove", "cancel", "logout", "set_language")


@dataclass
class PageForm:
    action: str
    method: str
    values: dict[str, list[str]] = field(default_factory=dict)  # what the browser would send as is
    text_fields: set[str] = field(default_factory=set)
    choice_fields: dict[str, list[str]] = field(default_factory=dict)  # name → the offered values

    def data(self) -> dict[str, list[str]]:
        """A plain dict of plain lists (never the page's SafeStrings), safe to change per post."""
        return {name: [str(value) for value in values] for name, values in self.values.items()}


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = attributes.get("action") or self.page_url
            self._form = PageForm(action=action, method=(attributes.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "name" not in attributes and tag != "option":
            return
        name = attributes.get("name", "")
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                form.choice_fields.setdefault(name, []).append(attributes.get("value", "on"))
                if "checked" in attributes:
                    form.values.setdefault(name, []).append(attributes.get("value", "on"))
                return
            form.values.setdefault(name, []).append(attributes.get("value", ""))
            if kind != "hidden":
                form.text_fields.add(name)  # numbers and dates too: an attacker types anything
        elif tag == "textarea":
            self._textarea = name
            form.values[name] = [""]
            form.text_fields.add(name)
        elif tag == "select":
            self._select = name
            form.choice_fields[name] = []
        elif tag == "option" and self._select:
            value = attributes.get("value", "")
            form.choice_fields[self._select].append(value)
            if "selected" in attributes or self._select not in form.values:
                form.values[self._select] = [value]

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.values[self._textarea] = [self._form.values[self._textarea][0] + data]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(page_url: str, html: str) -> list[PageForm]:
    """The page's POST forms that change something of the panel's own (not destructive ones)."""
    parser = _FormParser(page_url)
    parser.feed(html)
    result = []
    for form in parser.forms:
        if form.method != "post":
            continue
        path = urlsplit(form.action).path
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if any(word in (match.url_name or "") for word in DESTRUCTIVE) or path.startswith(
            ("/accounts/", "/i18n/")
        ):
            continue
        form.action = path
        result.append(form)
    return result
