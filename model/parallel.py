"""Independent solves side by side: in this process, in local worker processes, or on Dask.

A sweep (the tornado's low/high solves, the strategies of a comparison, stress replays, Monte
Carlo batches) is a list of tasks that do not depend on each other. :func:`run_tasks` runs one
function over them and returns one :class:`TaskOutcome` per task, in task order, whichever
backend ran them:

- serial (``workers=1``, or a single task): a plain loop in this process;
- local processes (the default, ``workers`` = the CPUs this process may use): a
  ``ProcessPoolExecutor`` whose workers are started by a fork server that has already imported
  the solver stack, so a worker is ready in milliseconds rather than the second or two a fresh
  interpreter needs for Pyomo, SciPy and HiGHS;
- a Dask cluster (``scheduler="tcp://host:8786"``): tasks are submitted to an existing
  ``dask.distributed`` scheduler; Dask is imported only then, so Stibium works without it.

The data every task reads (``shared``: a dataset, a strategy, a plan) travels once per worker
— as the pool's initializer argument, or scattered to every Dask worker — not once per task;
tasks themselves carry only what differs (one changed figure, one strategy, one seed).

Each task's function is ``function(shared, task)``; it must be a module-level function (worker
processes import it by name). A task that raises does not stop the others: its outcome carries
the exception's type, message and traceback text, labelled with the task's name. Results are
the same floats whichever backend ran them: every task is the same deterministic computation
on an exact (pickled) copy of the same inputs.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import socket
import sys
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import StibiumInputError

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

Progress = Callable[[int, int], None]

# What a worker needs before its first solve. The fork server imports these once; every worker
# forked from it starts with them loaded. (SciPy is not needed: the standard-form compiler is
# given numpy matrices, see solve.compile_standard_form.)
PRELOAD = ("stibium.model.solve", "stibium.model.risk", "stibium.model.stress",
           "stibium.model.sensitivity", "stibium.model.compare", "stibium.model.montecarlo",
           "highspy", "pyomo.repn.plugins.standard_form")

# Seconds to wait for a Dask scheduler to answer, and for it to have at least one worker.
CONNECT_TIMEOUT_S = 10.0
WORKER_WAIT_S = 30.0


@dataclass(frozen=True)
class TaskOutcome(Generic[R]):
    """What one task returned, or why it failed.

    ``input_error`` is true when the task failed on the user's input (a
    :class:`~stibium.model.errors.StibiumInputError`: e.g. a strategy naming an unknown
    origin), as opposed to a bug or a lost worker.
    """

    label: str
    value: R | None = None
    error_type: str | None = None
    message: str = ""
    traceback: str = ""
    input_error: bool = False

    @property
    def ok(self) -> bool:
        return self.error_type is None

    @property
    def error(self) -> str:
        """``"ErrorType: message"`` (empty when the task succeeded)."""
        return "" if self.ok else f"{self.error_type}: {self.message}"

    def describe(self) -> str:
        """One line naming the task and what went wrong."""
        return f"{self.label}: ok" if self.ok else f"{self.label}: {self.error}"

    @classmethod
    def failure(cls, label: str, exc: BaseException) -> TaskOutcome[Any]:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        return cls(label=label, error_type=type(exc).__name__, message=message,
                   traceback=text, input_error=isinstance(exc, StibiumInputError))


def default_workers() -> int:
    """The CPUs this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_tasks(function: Callable[[S, T], R], tasks: Sequence[T], *, shared: S = None,
              labels: Sequence[str] | None = None, workers: int | None = None,
              scheduler: str | None = None, progress: Progress | None = None
              ) -> list[TaskOutcome[R]]:
    """Run ``function(shared, task)`` for every task; outcomes in task order.

    Parameters
    ----------
    function
        A module-level function (picklable by name).
    shared
        Read-only data every task needs, sent once per worker. Tasks must not modify it: in the
        serial backend they all receive the same object.
    labels
        A readable name per task, used in error reports (default ``task 1``, ``task 2``, …).
    workers
        Local worker processes; ``1`` runs the tasks in this process; ``None``: one per CPU.
    scheduler
        The address of a running Dask scheduler (``tcp://host:8786``); replaces local workers.
    progress
        Called as ``progress(done, total)`` in this process each time a task finishes.

    Raises
    ------
    StibiumInputError
        ``workers`` below 1, both ``workers`` and ``scheduler`` given, Dask not installed or
        the scheduler unreachable — never for a failing task, which is reported in its outcome.
    """
    tasks = list(tasks)
    names = list(labels) if labels is not None else [f"task {i + 1}" for i in range(len(tasks))]
    if len(names) != len(tasks):
        raise ValueError(f"{len(names)} labels for {len(tasks)} tasks")
    if workers is not None and scheduler is not None:
        raise StibiumInputError("give either a number of local workers or a Dask scheduler, "
                                "not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise StibiumInputError(f"workers must be a whole number of at least 1, not {workers!r}")
    if not tasks:
        return []
    if scheduler is not None:
        return _run_dask(function, tasks, names, shared, scheduler, progress)
    count = min(workers if workers is not None else default_workers(), len(tasks))
    if count <= 1:
        return _run_serial(function, tasks, names, shared, progress)
    return _run_local(function, tasks, names, shared, count, progress)


def _run_one(function: Callable[[S, T], R], shared: S, task: T, label: str) -> TaskOutcome[R]:
    """One task, its exception (if any) turned into plain text where it happened: exceptions
    of other libraries do not always survive the trip back from a worker."""
    try:
        value = function(shared, task)
    except Exception as exc:
        return TaskOutcome.failure(label, exc)
    return TaskOutcome(label=label, value=value)


def _run_serial(function: Callable[[S, T], R], tasks: list[T], labels: list[str], shared: S,
                progress: Progress | None) -> list[TaskOutcome[R]]:
    outcomes = []
    for done, (task, label) in enumerate(zip(tasks, labels, strict=True), start=1):
        outcomes.append(_run_one(function, shared, task, label))
        if progress is not None:
            progress(done, len(tasks))
    return outcomes


# --- local processes ---------------------------------------------------------------------------

_WORKER_SHARED: Any = None  # set in each worker process by the pool's initializer


def _initialize_worker(shared: Any) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared


def _run_in_worker(function: Callable[[Any, T], R], task: T, label: str) -> TaskOutcome[R]:
    return _run_one(function, _WORKER_SHARED, task, label)


def _context() -> multiprocessing.context.BaseContext:
    """A fork server where there is one (Linux, macOS), else spawn.

    Plain fork is not safe here: a parent that has solved anything holds HiGHS's worker
    threads (and under Streamlit or Dask, threads of its own), and a forked child inherits
    their locks but not the threads. The fork server is a fresh single-threaded process that
    imports the solver stack once and forks every worker from that clean state.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only takes effect before the server starts (once per parent process); later pools reuse
    # the running server.
    context.set_forkserver_preload(list(PRELOAD))
    return context


def prepare(workers: int | None = None, scheduler: str | None = None) -> None:
    """Start the local fork server now, if the tasks will run on local processes.

    The server imports the solver stack in its own process; started early (before loading
    data or solving what a sweep needs first), that overlaps with this process's work instead
    of delaying the first parallel task by a second or two.
    """
    if scheduler is not None or (workers if workers is not None else default_workers()) <= 1:
        return
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _run_local(function: Callable[[S, T], R], tasks: list[T], labels: list[str], shared: S,
               workers: int, progress: Progress | None) -> list[TaskOutcome[R]]:
    outcomes: list[TaskOutcome[R] | None] = [None] * len(tasks)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                               initializer=_initialize_worker, initargs=(shared,))
    try:
        futures: dict[Future, int] = {
            pool.submit(_run_in_worker, function, task, label): index
            for index, (task, label) in enumerate(zip(tasks, labels, strict=True))}
        for done, future in enumerate(as_completed(futures), start=1):
            index = futures[future]
            try:
                outcomes[index] = future.result()
            except Exception as exc:  # the result did not pickle, or the worker died
                outcomes[index] = TaskOutcome.failure(labels[index], exc)
            if progress is not None:
                progress(done, len(tasks))
    except BaseException:
        # Interrupted (Ctrl-C) or the progress callback failed: drop the queued tasks instead
        # of waiting for all of them.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return _complete(outcomes)


# --- Dask --------------------------------------------------------------------------------------

def _probe(scheduler: str) -> None:
    """Fail with one line when nothing listens at a TCP-based scheduler address.

    Checked with a plain socket first because a ``Client`` that fails to connect prints a
    traceback to stderr as it is garbage-collected.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(scheduler)
        if scheme not in ("tcp", "tls", "ws", "wss"):
            return
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise StibiumInputError(f"Dask scheduler '{scheduler}': not an address like "
                                f"tcp://host:8786 ({exc})") from None
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StibiumInputError(f"Dask scheduler '{scheduler}': cannot be reached "
                                f"({reason})") from None


def connect(scheduler: str) -> Any:
    """A ``distributed.Client`` on a running scheduler that has at least one worker.

    Raises
    ------
    StibiumInputError
        Dask is not installed, the address is malformed, the scheduler does not answer, or it
        has no workers.
    """
    try:
        from distributed import Client
    except ImportError:
        raise StibiumInputError("a Dask scheduler needs Dask: pip install 'stibium[dask]'"
                                ) from None
    _probe(scheduler)
    failure = None
    previous_hook = sys.unraisablehook
    # A half-built Client complains (a traceback on stderr) when it is collected; the error is
    # reported here in one line instead.
    sys.unraisablehook = lambda _unraisable: None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:
        failure = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    finally:
        if failure is not None:
            gc.collect()
        sys.unraisablehook = previous_hook
    if failure is not None:
        raise StibiumInputError(f"Dask scheduler '{scheduler}': cannot connect ({failure})")
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except Exception:
        client.close()
        raise StibiumInputError(f"Dask scheduler '{scheduler}': no worker joined within "
                                f"{WORKER_WAIT_S:.0f} s") from None
    return client


def _run_dask(function: Callable[[S, T], R], tasks: list[T], labels: list[str], shared: S,
              scheduler: str, progress: Progress | None) -> list[TaskOutcome[R]]:
    client = connect(scheduler)  # first: it says what to install when Dask is missing
    from distributed import as_completed as dask_completed

    try:
        # Scatter inside a list: Dask would otherwise scatter a tuple's items one by one.
        shared_future = client.scatter([shared], broadcast=True, hash=False)[0]
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(_run_one, function, shared_future, task, label,
                                 key=f"stibium-{run}-{index}", pure=False)
                   for index, (task, label) in enumerate(zip(tasks, labels, strict=True))]
        position = {future.key: index for index, future in enumerate(futures)}
        outcomes: list[TaskOutcome[R] | None] = [None] * len(tasks)
        for done, future in enumerate(dask_completed(futures, loop=client.loop), start=1):
            index = position[future.key]
            try:
                outcomes[index] = future.result()
            except Exception as exc:  # a worker died (KilledWorker) or could not run the task
                outcomes[index] = TaskOutcome.failure(labels[index], exc)
            future.release()
            if progress is not None:
                progress(done, len(tasks))
    finally:
        client.close()
    return _complete(outcomes)


def _complete(outcomes: list[TaskOutcome[R] | None]) -> list[TaskOutcome[R]]:
    missing = [index for index, outcome in enumerate(outcomes) if outcome is None]
    if missing:  # as_completed yields every future once; this would be a bug of ours
        raise RuntimeError(f"tasks {missing} finished without an outcome")
    return [outcome for outcome in outcomes if outcome is not None]
