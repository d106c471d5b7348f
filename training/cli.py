"""Train a LoRA adapter on an export release, evaluate it against the base model, and record the run.

    # build a tiny local model (tests and demo; nothing is downloaded)
    python -m training.tiny var/tiny-model

    # SFT, shipped defaults, one override
    python -m training sft --release var/releases/acme-v3 --config training/configs/sft.yaml \\
        --base_model=/models/qwen2.5-0.5b-instruct --learning_rate=1e-4

    # DPO on the same release, merged model for vLLM, gated against the adapter in production
    python -m training dpo --release var/releases/acme-v3 --config training/configs/dpo.yaml \\
        --output runs/acme-v3-dpo --merge --baseline-adapter runs/acme-v2-dpo/adapter

    # a killed run continues from its last complete checkpoint
    python -m training sft --release ... --config ... --output runs/acme-v3-sft --resume

    # several GPUs: the same command under accelerate
    accelerate launch --num_processes 4 -m training sft --release ... --config ... --output runs/x

Exit codes: 0 the run finished (promoted or not: see metrics.json "promoted"), 2 bad config,
3 bad release, 1 other training error, 143 stopped by SIGTERM (continue with --resume). Every
config field can be overridden as ``--name=value`` (see ``python -m training sft --help``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from training.config import CHATML_TEMPLATE, field_index
from training.errors import STOPPED_BY_SIGNAL, TrainingError


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="LoRA training (TRL + PEFT) on an export release, with evaluation and a promotion gate.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    commands = parser.add_subparsers(dest="method", required=True, metavar="{sft,dpo}")
    for method, summary in (("sft", "supervised fine-tuning"), ("dpo", "direct preference optimisation")):
        sub = commands.add_parser(
            method, help=summary, description=f"{summary} with LoRA on an export release"
        )
        run = sub.add_argument_group("run")
        run.add_argument(
            "--release", type=Path, required=True, help="Export release directory (docs/release-format.md)."
        )
        run.add_argument("--config", type=Path, help=f"YAML config, e.g. training/configs/{method}.yaml.")
        run.add_argument(
            "--output", type=Path, help="Run directory (default runs/<release_id>-<method>-<timestamp>)."
        )
        run.add_argument(
            "--resume", action="store_true", help="Continue the run in --output from its last checkpoint."
        )
        run.add_argument(
            "--merge", action="store_true", help="Also save base+adapter merged (for vLLM) in <run>/merged."
        )
        run.add_argument(
            "--baseline-adapter",
            type=Path,
            help="A previously promoted adapter the new one must not regress against.",
        )
        sections: dict[str, argparse._ArgumentGroup] = {}
        for name, (section, f, hint) in field_index().items():
            group = sections.setdefault(section, sub.add_argument_group(f"config: {section}"))
            default = "ChatML" if f.default == CHATML_TEMPLATE else f.default
            if callable(f.default_factory):  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            type_name = str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")
            group.add_argument(
                f"--{name}",
                f"--{section}.{name}",
                dest=f"cfg:{name}",
                metavar=type_name.upper().replace(" ", ""),
                default=argparse.SUPPRESS,
                # argparse %-formats help text: escape the percent signs in ours.
                help=f"{f.metadata['help']} (default: {str(default)[:60]})".replace("%", "%%"),
            )
    return parser


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (a launcher's timeout, ``kill``) raises SystemExit, so the run records why it stopped.

    Only where nobody else handles SIGTERM, and restored afterwards (tests call ``main`` in-process).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    if before is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the failure record short
        raise SystemExit(STOPPED_BY_SIGNAL)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parsed = make_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from training.runner import RunArgs, run  # heavy imports stay out of --help

    overrides = {key.split(":", 1)[1]: value for key, value in vars(parsed).items() if key.startswith("cfg:")}
    args = RunArgs(
        method=parsed.method,
        release=parsed.release,
        config_path=parsed.config,
        overrides=overrides,
        output=parsed.output,
        resume=parsed.resume,
        merge=parsed.merge,
        baseline_adapter=parsed.baseline_adapter,
        argv=argv,
    )
    try:
        with _sigterm_as_exit():
            result = run(args)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:
        if exc.code != STOPPED_BY_SIGNAL:
            raise
        print("error: stopped by SIGTERM; continue the run with --resume", file=sys.stderr)
        return STOPPED_BY_SIGNAL
    if result is None:  # a non-main process of a multi-process launch
        return 0
    print(f"{result.run_dir}: {'promoted' if result.promoted else 'NOT promoted'} (see report.md)")
    return 0
