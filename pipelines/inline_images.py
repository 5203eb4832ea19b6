"""Self-contained markdown: local image links become `data:` URIs.

The data-quality report on disk links its plots relative to the dataset dir (`plots/lengths.png`), which a
file viewer or the Hub resolves; the Prefect UI cannot reach that directory, so the copy sent as an artifact
carries the images inline (the UI's markdown renderer, `marked` without sanitising, keeps `data:` sources).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<url>[^)\s]+)\)")
MIME = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def data_uri(path: Path) -> str:
    return f"data:{MIME[path.suffix.lower()]};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_images(markdown: str, base_dir: Path) -> str:
    """Every `![alt](relative/path.png)` whose file exists under base_dir, inlined; URLs with a scheme (http:,
    data:) and missing files are left as they are."""
    base = Path(base_dir).resolve()

    def sub(m: re.Match[str]) -> str:
        url = m.group("url")
        if ":" in url or url.startswith("/"):
            return m.group(0)
        path = (base / url).resolve()
        if path.suffix.lower() not in MIME or not path.is_file() or base not in path.parents:
            return m.group(0)
        return f"![{m.group('alt')}]({data_uri(path)})"

    return IMAGE.sub(sub, markdown)
