"""The `llamapipe` command line: thin commands that load the config and call a stage."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from llamapipe import __version__
from llamapipe.cli.common import console
from llamapipe.cli.data import data_app
from llamapipe.cli.eval import eval_command
from llamapipe.cli.export import export_command, import_command
from llamapipe.cli.generate import generate_command
from llamapipe.cli.init_cmd import init_command
from llamapipe.cli.run import run_command
from llamapipe.cli.status import status_command
from llamapipe.cli.tokenize import tokenize_command
from llamapipe.cli.train import train_command
from llamapipe.errors import LlamapipeError

app = typer.Typer(
    name="llamapipe",
    help="The LLaMA pretraining recipe end to end: raw public data in, a trained model out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        print(f"llamapipe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
    debug: bool = typer.Option(
        False, "--debug", help="Show the Python traceback of an error instead of one line."
    ),
) -> None:
    """llamapipe: data -> tokenizer -> LLaMA training -> evaluation, from one pipeline.toml."""
    global _DEBUG
    _DEBUG = debug


app.command("init")(init_command)
app.command("status")(status_command)
app.add_typer(data_app, name="data")
app.command("tokenize")(tokenize_command)
app.command("train")(train_command)
app.command("eval")(eval_command)
app.command("generate")(generate_command)
app.command("export")(export_command)
app.command("import-hf")(import_command)
app.command("run")(run_command)


#: Set by the global --debug flag: errors propagate with their traceback.
_DEBUG = False


def one_line(exc: BaseException) -> str:
    """An anticipated error as the one line the user sees."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        where = str(exc.filename)
        if exc.filename2 is not None:
            where += f" -> {exc.filename2}"
        text = f"{where}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main() -> None:
    """Run the CLI. Anticipated errors (ours, OSError such as a permission denied or a full
    disk, ValueError from a bad argument) are printed as one line with a non-zero exit code;
    anything else is a bug and keeps its traceback, as does every error under --debug."""
    try:
        app()
    except (LlamapipeError, OSError, ValueError) as exc:
        if _DEBUG:
            raise
        code = exc.exit_code if isinstance(exc, LlamapipeError) else 1
        # escaped: a message naming a [section] must print it, not read it as markup
        console.print(f"[red]error:[/] {escape(one_line(exc))}", highlight=False, soft_wrap=True)
        sys.exit(code)
