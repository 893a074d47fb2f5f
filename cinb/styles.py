"""Styles: named processing rules kept in a JSON file the user can version (spec §15)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import BAD_PARAMETER, UNKNOWN_STYLE, CIError
from .fileio import write_atomic
from .rules.model import Rule
from .rules.registry import parse_rule
from .rules.style import StyleRef

SEPARATORS = "!-_/"
_MAX_STYLES = 100
_NAME = re.compile(r"^[A-Za-z0-9.\-_!/]{1,64}$")


class Styles:
    """Named processing rules, like a CI bucket's styles, stored in a JSON file.

    Parameters
    ----------
    path : str or Path, optional
        JSON file holding ``{"name": "rule", ...}``; read if it exists, written by ``save()``.
    separators : str
        Enabled style separators for ``photo.jpg!name`` keys (any of ``! - _ /``).

    Examples
    --------
    >>> from cinb.styles import Styles
    >>> styles = Styles()
    >>> styles.add("thumb", "imageMogr2/thumbnail/200x")
    >>> str(styles.rule("thumb"))
    'imageMogr2/thumbnail/200x'
    >>> styles.split_key("photo.jpg!thumb")
    ('photo.jpg', 'thumb')
    """

    def __init__(self, path: str | os.PathLike | None = None, *, separators: str = SEPARATORS,
                 styles: dict[str, str] | None = None):
        bad_seps = set(separators) - set(SEPARATORS)
        if bad_seps:
            raise CIError(f"style separators must be among {SEPARATORS!r}, got {''.join(bad_seps)!r}",
                          code=BAD_PARAMETER)
        self.path = Path(path) if path is not None else None
        self.separators = separators
        self._styles: dict[str, str] = {}
        if self.path is not None and self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise CIError(f"cannot read styles file {self.path}: {exc}", code=BAD_PARAMETER) from None
            if not isinstance(loaded, dict):
                raise CIError(f"styles file {self.path} must hold a JSON object", code=BAD_PARAMETER)
            for name, rule in loaded.items():
                self.add(name, rule)
        for name, rule in (styles or {}).items():
            self.add(name, rule)

    def __contains__(self, name: str) -> bool:
        return name in self._styles

    def __getitem__(self, name: str) -> str:
        if name not in self._styles:
            raise CIError(f"unknown style {name!r}", code=UNKNOWN_STYLE, token=name)
        return self._styles[name]

    def __len__(self) -> int:
        return len(self._styles)

    def __iter__(self):
        return iter(self._styles)

    def __repr__(self) -> str:
        return f"Styles({self.path!s}, {len(self)} styles)" if self.path else f"Styles({dict(self._styles)!r})"

    def names(self) -> list[str]:
        return sorted(self._styles)

    def add(self, name: str, rule: str) -> None:
        """Add or replace a style; the rule is validated and stored in canonical form."""
        if not isinstance(name, str) or not _NAME.match(name) or any(s in name for s in self.separators):
            raise CIError(f"invalid style name {name!r} (letters, digits, '.', no enabled separator)",
                          code=UNKNOWN_STYLE, token=str(name))
        if name not in self._styles and len(self._styles) >= _MAX_STYLES:
            raise CIError(f"at most {_MAX_STYLES} styles", code=BAD_PARAMETER, token=name)
        parsed = parse_rule(rule)
        if any(isinstance(s, StyleRef) for s in parsed):
            raise CIError(f"style {name!r} cannot refer to another style", code=BAD_PARAMETER, token=name)
        self._styles[name] = str(parsed)

    def remove(self, name: str) -> None:
        self[name]
        del self._styles[name]

    def rule(self, name: str):
        """The parsed Rule of a style."""
        return parse_rule(self[name])

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the styles as sorted, indented JSON (atomically)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise CIError("Styles.save needs a path", code=BAD_PARAMETER)
        text = json.dumps(dict(sorted(self._styles.items())), indent=2, ensure_ascii=False) + "\n"
        return write_atomic(target, text.encode("utf-8"))

    def split_key(self, key: str) -> tuple[str, str | None]:
        """Split ``photo.jpg!thumb`` at the last enabled separator naming a style.

        Returns ``(key, style name)``, or ``(key, None)`` when no tail names a style.
        """
        head, _, last = key.rpartition("/") if "/" in key else ("", "", key)
        prefix = f"{head}/" if head else ""
        for i in range(len(last) - 1, 0, -1):
            if last[i] in self.separators and last[i + 1:] in self._styles:
                return prefix + last[:i], last[i + 1:]
        if "/" in self.separators and head and last in self._styles:
            return head, last
        return key, None

    def expand(self, rule):
        """Replace every ``style/<name>`` stage of a Rule by the style's stages."""
        stages = []
        for stage in rule:
            if isinstance(stage, StyleRef):
                stages.extend(self.rule(stage.name).stages)
            else:
                stages.append(stage)
        return Rule(tuple(stages))


def expand_styles(rule, styles: Styles | None):
    """Expand style stages, with a clear error when there is no Styles to look in."""
    refs = [s for s in rule if isinstance(s, StyleRef)]
    if not refs:
        return rule
    if styles is None:
        raise CIError(f"rule uses style {refs[0].name!r} but no styles were given",
                      code=UNKNOWN_STYLE, token=refs[0].name)
    return styles.expand(rule)
