"""A single self-contained HTML report: headings, text, tables, code and embedded images.

Images are embedded as base64 ``data:`` URIs and the style sheet is inline, so the file needs no
network, no other files and no JavaScript. All user text is escaped.

    >>> r = Report("genlab run: vae", "model vae · data mnist5k")
    >>> r.section("Samples", "64 images from the prior.").image(grid_image(samples))
    >>> r.write("runs/vae/report.html")
"""
from __future__ import annotations

import base64
import datetime as _dt
import html as _html
import io
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from PIL import Image

from ..io import atomic_write_bytes
from .grids import auto_scale, grid_image, png_bytes, png_data_uri

__all__ = ["Report"]

_CSS = """
*{box-sizing:border-box}
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1f2328;background:#fff;max-width:62rem;margin:2rem auto 4rem;padding:0 1.25rem}
header h1{font-size:1.75rem;line-height:1.25;margin:0 0 .25rem}
header .subtitle{color:#57606a;margin:0 0 1rem}
nav{font-size:.92rem;border-left:3px solid #d0d7de;padding:.1rem .9rem;margin:1rem 0 1.5rem}
nav ol{margin:.2rem 0;padding-left:1.2rem}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
h2{font-size:1.3rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem;margin:2.4rem 0 .8rem}
p{margin:.6rem 0}
figure{margin:1rem 0 1.4rem}
img{display:block;max-width:100%;height:auto;border:1px solid #eaeef2}
img.pixels{image-rendering:crisp-edges;image-rendering:pixelated}
figcaption{color:#57606a;font-size:.9rem;margin-top:.35rem}
.gallery{display:flex;flex-wrap:wrap;gap:1.25rem;align-items:flex-start;margin:1rem 0 1.4rem}
.gallery figure{margin:0;max-width:100%}
.table{overflow-x:auto;margin:.8rem 0 1.2rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:.3rem .75rem;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f8fa;border-radius:6px;padding:.8rem 1rem;overflow-x:auto;font-size:.85rem;line-height:1.4}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
footer{color:#8c959f;font-size:.8rem;margin-top:3rem;border-top:1px solid #eaeef2;padding-top:.6rem}
"""


def _esc(text: Any) -> str:
    return _html.escape(str(text), quote=True)


def _cell(value: Any) -> tuple[str, bool]:
    """(escaped text, is_number) for a table cell."""
    if value is None:
        return "", False
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:      # numpy / torch scalars
        value = value.item()
    if isinstance(value, bool):
        return _esc(value), False
    if isinstance(value, float):
        return _esc(f"{value:.4g}"), True
    if isinstance(value, int):
        return _esc(value), True
    return _esc(value), False


class Report:
    """Build an HTML report block by block; every method but :meth:`html`/:meth:`write` returns
    the report, so calls chain."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = str(title)
        self.subtitle = str(subtitle)
        self._blocks: list[str] = []
        self._sections: list[tuple[str, str]] = []          # (anchor id, heading)

    # ------------------------------------------------------------------ blocks
    def section(self, heading: str, text: str = "") -> "Report":
        """Start a section: a heading, optionally followed by a paragraph."""
        anchor = f"s{len(self._sections) + 1}-" + (re.sub(r"[^a-z0-9]+", "-", str(heading).lower()).strip("-")
                                                     or "section")
        self._sections.append((anchor, str(heading)))
        self._blocks.append(f'<h2 id="{_esc(anchor)}">{_esc(heading)}</h2>')
        if text:
            self.text(text)
        return self

    def text(self, paragraph: str) -> "Report":
        """One or more paragraphs (separated by blank lines) of plain text."""
        for part in re.split(r"\n\s*\n", str(paragraph).strip()):
            if part.strip():
                self._blocks.append(f"<p>{_esc(part.strip())}</p>")
        return self

    def code(self, text: str) -> "Report":
        """Preformatted text (a command line, a config, a log excerpt)."""
        self._blocks.append(f"<pre><code>{_esc(text)}</code></pre>")
        return self

    def table(self, rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
              header: Sequence[str] | None = None) -> "Report":
        """A table from a list of dicts (columns: ``header`` or the keys in order of appearance)
        or a list of lists (with an optional ``header``). Floats are shown to 4 significant digits."""
        rows = list(rows)
        if rows and all(isinstance(r, Mapping) for r in rows):
            if header is None:
                header = list(dict.fromkeys(k for r in rows for k in r))
            body = [[r.get(k) for k in header] for r in rows]
        else:
            body = [list(r) for r in rows]
        parts = ['<div class="table"><table>']
        if header is not None:
            parts.append("<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr></thead>")
        parts.append("<tbody>")
        for r in body:
            cells = (_cell(v) for v in r)
            parts.append("<tr>" + "".join(f'<td class="num">{t}</td>' if num else f"<td>{t}</td>"
                                          for t, num in cells) + "</tr>")
        if not body:
            span = len(header) if header else 1
            parts.append(f'<tr><td colspan="{span}"><em>(no rows)</em></td></tr>')
        parts.append("</tbody></table></div>")
        self._blocks.append("".join(parts))
        return self

    def image(self, image: Any, caption: str = "", alt: str | None = None, nrow: int = 8) -> "Report":
        """Embed a PIL image, a matplotlib figure, an image file (path) or images (N×C×H×W tensor
        or array, drawn as a grid of ``nrow`` columns) as a base64 PNG.

        Pixel images (grids of digits) are shown with ``image-rendering: pixelated`` and small ones
        are displayed enlarged by an integer factor so they stay crisp; figures are shown as drawn.
        """
        self._blocks.append(_figure(image, caption, alt, nrow))
        return self

    def animation(self, path: str | Path, caption: str = "", alt: str | None = None) -> "Report":
        """Embed an animated GIF file as it is (``image`` would re-encode its first frame as PNG)."""
        data = Path(path).read_bytes()
        if not data.startswith((b"GIF87a", b"GIF89a")):
            raise ValueError(f"{path} is not a GIF file")
        with Image.open(io.BytesIO(data)) as im:
            width = im.width * auto_scale(im.width)
        alt_text = alt if alt is not None else (caption or "animation")
        block = (f'<figure><img class="pixels" src="data:image/gif;base64,{_b64(data)}" width="{width}" '
                 f'alt="{_esc(alt_text)}">')
        if caption:
            block += f"<figcaption>{_esc(caption)}</figcaption>"
        self._blocks.append(block + "</figure>")
        return self

    def gallery(self, items: Sequence[tuple[Any, str]], nrow: int = 8) -> "Report":
        """Several images side by side (wrapping on narrow screens), each ``(image, caption)``
        accepting what :meth:`image` accepts: for comparing runs at a glance."""
        figures = "".join(_figure(image, caption, None, nrow) for image, caption in items)
        self._blocks.append(f'<div class="gallery">{figures}</div>')
        return self

    # ------------------------------------------------------------------ output
    def html(self) -> str:
        """The whole page as one string."""
        head = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{_esc(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n")
        parts = [head, f"<header><h1>{_esc(self.title)}</h1>"]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{_esc(self.subtitle)}</p>')
        parts.append("</header>\n")
        if len(self._sections) >= 3:
            parts.append("<nav><ol>" + "".join(f'<li><a href="#{_esc(a)}">{_esc(h)}</a></li>'
                                               for a, h in self._sections) + "</ol></nav>\n")
        parts.append("<main>\n" + "\n".join(self._blocks) + "\n</main>\n")
        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        parts.append(f"<footer>Written by genlab on {_esc(stamp)}.</footer>\n</body>\n</html>\n")
        return "".join(parts)

    def write(self, path: str | Path) -> Path:
        """Write :meth:`html` to ``path`` atomically (temporary file + ``os.replace``); returns the path."""
        return atomic_write_bytes(path, self.html().encode("utf-8"))


def _is_figure(obj: Any) -> bool:
    try:
        from matplotlib.figure import Figure
    except ImportError:                                     # pragma: no cover
        return False
    return isinstance(obj, Figure)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _figure(image: Any, caption: str = "", alt: str | None = None, nrow: int = 8) -> str:
    cls = "pixels"
    if _is_figure(image):
        from .plots import figure_png_bytes

        data = figure_png_bytes(image)
        cls = "plot"
        uri = "data:image/png;base64," + _b64(data)
        width = Image.open(io.BytesIO(data)).width
    else:
        if isinstance(image, (str, Path)):
            uri = png_data_uri(image)
            with Image.open(image) as im:
                width = im.width
        else:
            if not isinstance(image, Image.Image):
                image = grid_image(image, nrow=nrow)
            uri = "data:image/png;base64," + _b64(png_bytes(image))
            width = image.width
        width *= auto_scale(width)
    alt_text = alt if alt is not None else (caption or "image")
    block = f'<figure><img class="{cls}" src="{uri}" width="{width}" alt="{_esc(alt_text)}">'
    if caption:
        block += f"<figcaption>{_esc(caption)}</figcaption>"
    return block + "</figure>"
