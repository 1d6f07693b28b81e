"""Tiny valid PDFs written by hand: one page per colour, each page one filled rectangle."""

from __future__ import annotations


def solid_pdf(colours: list[tuple[int, int, int]], size: tuple[int, int] = (595, 842),
              inset: int = 0) -> bytes:
    """A PDF whose page ``i`` is white with a rectangle of ``colours[i]`` filling all of it
    but ``inset`` points at each edge (A4 portrait by default)."""
    width, height = size
    objects: list[bytes] = []
    pages = len(colours)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    for i, (r, g, b) in enumerate(colours):
        content = (f"{r / 255:.4f} {g / 255:.4f} {b / 255:.4f} rg "
                   f"{inset} {inset} {width - 2 * inset} {height - 2 * inset} re f").encode()
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
                       f"/Contents {4 + 2 * i} 0 R /Resources << >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content
                       + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
