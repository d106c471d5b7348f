"""Serve trace bundles from disk on a fake Langfuse, for demos and manual checks.

    python -m flywheel.standin --port 3000 --data traces.jsonl
    python -m flywheel.standin --mode old --data ../shared/langfuse/samples/autogen-2025-06-06.trace.json

``--data`` takes a ``.jsonl`` file (one download-trace bundle per line) or a ``.json`` file
(one bundle, or a list of bundles); repeat it to load several files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flywheel.standin.handlers import MODES


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flywheel.standin", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port to bind; 0 picks a free one")
    parser.add_argument("--mode", choices=MODES, default="new", help="server generation to imitate")
    parser.add_argument(
        "--data", type=Path, action="append", default=[], help="bundle file (.jsonl or .json); repeatable"
    )
    parser.add_argument(
        "--no-score-batches",
        action="store_true",
        help="POST /scores takes one object per request (400 for arrays), as the spec's server does",
    )
    parser.add_argument("--public-key", default="pk-lf-standin")
    parser.add_argument("--secret-key", default="sk-lf-standin")
    return parser


def read_bundles(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise SystemExit(f"{path}:{number}: not a JSON line ({exc.msg})") from None
        return
    loaded = json.loads(path.read_text(encoding="utf-8"))
    yield from loaded if isinstance(loaded, list) else [loaded]


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    from flywheel.standin.server import LangfuseStandin

    standin = LangfuseStandin(
        args.mode,
        public_key=args.public_key,
        secret_key=args.secret_key,
        host=args.host,
        port=args.port,
        score_batches=not args.no_score_batches,
    )
    loaded = 0
    for path in args.data:
        for bundle in read_bundles(path):
            standin.add_trace_bundle(bundle)
            loaded += 1
    with standin:
        print(f"Langfuse stand-in ({args.mode}) serving {loaded} trace(s)", file=sys.stderr)
        print(f"LANGFUSE_BASE_URL={standin.base_url}", file=sys.stderr)
        print(f"LANGFUSE_PUBLIC_KEY={args.public_key} LANGFUSE_SECRET_KEY={args.secret_key}", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
