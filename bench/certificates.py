"""`python -m bench.certificates`: how long a PDF certificate takes to draw (target: under
300 ms), in this process, with the renderer the server uses.

`first` is a fresh renderer's first certificate (fontconfig's font list, WeasyPrint's
stylesheets, the template's compilation); then the median and worst of `n` renders per look
and per script (a CJK name embeds a subset of a 20 MB font). A served request adds the
database lookups; a repeat is read from the cache and draws nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from credo.adapters.pdf.renderer import SAMPLE, WeasyCertificates
from credo.domain import designs
from credo.domain.entities import CertificateContent

NAMES = {
    "Latin": "Margaret Hamilton",
    "Greek": "Αλέξανδρος Παπαδόπουλος",
    "Cyrillic": "Анна Каренина",
    "CJK": "王小明",
    "Arabic": "فاطمة الزهراء",
    "Hebrew": "דוד בן גוריון",
    "Devanagari": "अमिताभ बच्चन",
}


def timed(renderer: WeasyCertificates, content: CertificateContent, n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        renderer.render(content)
        out.append((time.perf_counter() - began) * 1000)
    return out


def one_line_baseline(n: int) -> float:
    """WeasyPrint's own floor in this run: the median of a one-line page, in ms."""
    from weasyprint import HTML

    HTML(string="<p>warm up</p>").write_pdf()
    out = []
    for i in range(n):
        began = time.perf_counter()
        HTML(string=f"<p>Certificate {i}</p>").write_pdf()
        out.append((time.perf_counter() - began) * 1000)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    renderer = WeasyCertificates()
    base = replace(
        SAMPLE,
        sample=False,
        achievement_name="Advanced Data Analysis with Python",
        achievement_description="Twelve weeks of coursework and a capstone project.",
        issuer_name="University of Northbridge",
        expires_on="1 February 2029",
    )
    [first] = timed(renderer, base, 1)
    floor = one_line_baseline(args.n)
    table = Table(
        title=f"PDF certificate render (ms; median and max of {args.n}); first: {first:.0f}; "
        f"baseline (WeasyPrint, a one-line page): {floor:.0f}"
    )
    for col in ("case", "median", "max", "size", "vs baseline"):
        table.add_column(col, justify="right")
    for look in designs.CERTIFICATE_LOOKS:
        for paper in designs.PAPER_SIZES:
            c = replace(base, paper=paper, design=replace(base.design, certificate=look))
            t = timed(renderer, c, args.n)
            size = len(renderer.render(c))
            table.add_row(
                f"{look} {paper}",
                f"{statistics.median(t):.0f}",
                f"{max(t):.0f}",
                f"{size // 1024} KB",
                f"{statistics.median(t) / floor:.1f}x",
            )
    for script, name in NAMES.items():
        c = replace(base, recipient_name=name)
        t = timed(renderer, c, args.n)
        size = len(renderer.render(c))
        table.add_row(
            f"name: {script}",
            f"{statistics.median(t):.0f}",
            f"{max(t):.0f}",
            f"{size // 1024} KB",
            f"{statistics.median(t) / floor:.1f}x",
        )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
