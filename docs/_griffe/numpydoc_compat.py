"""Griffe extension for the docs build: read skneural's numpydoc as Sphinx would.

Loaded by mkdocs.yml (not part of the package). Two differences between numpydoc as
Sphinx renders it and griffe's numpy parser are bridged here:

- Sphinx roles (``:func:`fgsm```, ``:class:`~skneural.exceptions.DiagnosticWarning```),
  which mkdocstrings would print verbatim, become inline code of the name (the last
  component for a ``~`` target).
- In ``name : {'a', 'b'}, default='b'`` griffe ignores ``default=`` and takes the first
  choice as the default (numpydoc's convention is to list the default first). The
  stated default is moved to the front, so the rendered default is the real one.
"""

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")
_CHOICES = re.compile(
    r"^(?P<head>\s*[\w, *]+ : )\{(?P<choices>[^}]+)\}, default=(?P<default>.+)$", re.MULTILINE
)


def _role(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"``{target.rsplit('.', 1)[-1] if tilde else target}``"


def _default_first(match: re.Match) -> str:
    choices = match["choices"].split(", ")
    default = match["default"].strip()
    if default in choices:
        choices.remove(default)
        choices.insert(0, default)
    return f"{match['head']}{{{', '.join(choices)}}}, default={default}"


class NumpydocCompat(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            text = _ROLE.sub(_role, obj.docstring.value)
            obj.docstring.value = _CHOICES.sub(_default_first, text)
