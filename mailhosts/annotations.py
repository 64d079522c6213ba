"""Notes that capabilities attach to messages a mail host handled, found by (mail host name, queue id).

The relay log shows every message a host queued or refused; another capability may know more about some of
them (the spam filter: refused or filed as spam, and why). It registers a source in its `AppConfig.ready`;
the relay's pages ask `message_notes` for the messages they show, without knowing who answers.
"""

from collections.abc import Callable, Iterable

MessageKey = tuple[str, str]  # (mail host name, Postfix queue id)
NoteSource = Callable[[list[MessageKey]], dict[MessageKey, str]]
_sources: list[NoteSource] = []


def register_message_notes(source: NoteSource) -> None:
    if source not in _sources:
        _sources.append(source)


def message_notes(keys: Iterable[MessageKey]) -> dict[MessageKey, list[str]]:
    """Every registered source's note for each of `keys` that has one."""
    wanted = [key for key in dict.fromkeys(keys) if key[0] and key[1]]
    notes: dict[MessageKey, list[str]] = {}
    if not wanted:
        return notes
    for source in _sources:
        for key, note in source(wanted).items():
            notes.setdefault(key, []).append(note)
    return notes
