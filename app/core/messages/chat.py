"""A comment of the app's as a chat message or a page's summary reads it (the notifiers')."""

from __future__ import annotations


def summary(body: str, limit: int = 1500) -> str:
    """A comment as a chat message reads it: markers, collapsed `<details>`, task lists and
    their headings dropped; a table's rows as `Role: who` lines; cut to `limit` characters.
    The comment on GitHub, linked beside it, has the rest."""
    lines: list[str] = []
    hidden = 0
    skip_block = False
    in_table = False
    for raw in body.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("<!--"):
            skip_block = not stripped.endswith("-->")
            continue
        if skip_block:
            skip_block = not stripped.endswith("-->")
            continue
        if stripped.startswith("<details"):
            hidden += 1
        if hidden:
            hidden -= stripped.count("</details>")
            continue
        if stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if not in_table:
                in_table = True  # the header row
                continue
            if all(set(c) <= set("-: ") for c in cells):
                continue
            lines.append(f"• {cells[0]}: {' · '.join(c for c in cells[1:] if c)}")
            continue
        in_table = False
        if stripped.startswith(("- [ ]", "- [x]", "* [ ]")):
            continue
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            if heading.lower().startswith("checklist"):
                continue
            line = f"**{heading}**"
        lines.append(line)
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
