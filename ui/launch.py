"""Start the app the way a user should get it: ``stibium app`` calls :func:`launch`.

It runs ``python -m streamlit run <installed app.py>`` with production settings: XSRF
protection on, developer mode off, uploads capped at 5 MB, error details hidden from the
browser, usage statistics off, a minimal toolbar, and the app's ``static/`` folder served
(it holds the world map's outlines, so the map draws without network access).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501
PRODUCTION_FLAGS = (
    "--server.enableXsrfProtection", "true",
    "--global.developmentMode", "false",
    "--server.maxUploadSize", "5",
    "--client.showErrorDetails", "false",
    "--server.enableStaticServing", "true",
    "--browser.gatherUsageStats", "false",
    "--client.toolbarMode", "minimal",
)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command(port: int, headless: bool, extra_args: list[str] | None = None) -> list[str]:
    """The command line that starts the app (extra arguments last, so they can override)."""
    args = [sys.executable, "-m", "streamlit", "run", str(APP), *PRODUCTION_FLAGS,
            "--server.port", str(port), "--server.headless", "true" if headless else "false"]
    return args + list(extra_args or [])


def launch(port: int | None = None, extra_args: list[str] | None = None) -> int:
    """Run the app until it is stopped; returns the server's exit code.

    Without a port, 8501 is used when it is free and any free port otherwise. The browser is
    opened only when the command runs in an interactive terminal.
    """
    if port is None:
        port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
    headless = not (sys.stdin.isatty() and sys.stdout.isatty())
    print(f"Stibium app: open http://localhost:{port} in a browser (Ctrl+C stops it).",
          flush=True)
    process = subprocess.Popen(command(port, headless, extra_args))
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The terminal sent the interrupt to Streamlit too; let it shut down cleanly.
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
            return 130
