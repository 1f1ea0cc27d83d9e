"""The ``valueflow`` command: a face of the engine, like the web app (docs/design.md, "Addresses and commands").

It parses arguments, calls engine.service and the read models, and prints.

Every mistake a user can make prints one clear line on stderr and exits
with status 2; a refused deployment lists each problem on its own line.

Each command imports what it uses when it runs: ``valueflow --help`` loads
neither the database layer nor SpiffWorkflow, and ``valueflow tasks`` reads
its rows on the database driver alone (engine.storage.driver_reads: no SQLAlchemy).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, Sequence

from engine.time.clock import FixedClock, SystemClock, as_utc

if TYPE_CHECKING:
    from engine.storage.uow import UnitOfWorkFactory

SHIPPED = Path(__file__).resolve().parent.parent / "bpmn"
INIT_DEMO_DAYS = 30  # the traffic ``init --demo`` simulates
EXPORT_FORMATS = ("xes", "csv")  # engine.analytics.exports.FORMATS, named here so that the parser does not load it
WORKER_LEASE_SECONDS = 60.0  # engine.jobs.LEASE, named here for the same reason
WORKER_BATCH = 200  # engine.jobs.BATCH
USERS_PER_READ = 200  # the most engine.work.accounts.list_users gives at once
WORKER_METRICS_PORT = "VALUEFLOW_WORKER_METRICS_PORT"
WORKER_METRICS_HOST = "VALUEFLOW_WORKER_METRICS_HOST"


class UsageError(Exception):
    """A malformed argument (bad JSON, bad date)."""


class _Parser(argparse.ArgumentParser):
    """Argument mistakes in one line, like every other mistake."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see valueflow {self.prog.split(' ', 1)[-1]} --help)"
                         if " " in self.prog else f"{message} (see valueflow --help)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = None
    try:
        args = _parser(sys.argv[1:] if argv is None else list(argv)).parse_args(argv)
        return args.run(args)
    except BrokenPipeError:  # e.g. `valueflow tasks --json | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        mistake = _users_mistake(exc)
        if mistake is None:
            raise
        print(f"valueflow: {mistake}", file=sys.stderr)
        return 2
    finally:
        database = getattr(args, "database", None)
        if database is not None:  # its connections are closed, not dropped (main also runs inside tests)
            database.dispose()


def _users_mistake(exc: Exception) -> Optional[str]:
    """The line that tells the user what they got wrong, or None when ``exc`` is not their mistake.

    The errors' modules are imported here, once one was raised, not by every command; those of the database
    layer and the use cases only for an error that is none of the kinds a listing raises."""
    from engine.errors import NotAllowed, NotFound
    from engine.storage.driver_reads import UnusableDatabase

    if isinstance(exc, (UsageError, NotFound, NotAllowed)):
        return str(exc)
    if isinstance(exc, UnusableDatabase):
        return _unusable_database(exc)

    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

    from engine import service
    from engine.cases.errors import MessageNotExpected, TaskNotReady
    from engine.definitions.errors import DeploymentRefused, PackageNotFound
    from engine.definitions.forms import FormInvalid
    from engine.storage.uow import ConcurrentUpdate

    if isinstance(exc, FormInvalid):
        return "the form was not accepted: " + "; ".join(
            f"{field or 'data'} {message}" for field, message in exc.errors.items())
    if isinstance(exc, (DeploymentRefused, service.TaskClosed, TaskNotReady, MessageNotExpected, ConcurrentUpdate,
                        PackageNotFound, ValueError)):
        return str(exc)
    if isinstance(exc, (OperationalError, ProgrammingError, ArgumentError, NoSuchModuleError)):
        return _unusable_database(exc)
    return None


def _unusable_database(exc: Exception) -> str:
    from engine.storage.location import shown_database_url

    return (f"cannot use the database {shown_database_url()} ({_first_line(exc)}); "
            "check VALUEFLOW_DATABASE_URL and run `valueflow init`")


def _first_line(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


def _uow_factory(args: argparse.Namespace) -> UnitOfWorkFactory:
    """The command's units of work on the database: connected once, and closed by ``main`` when it ends."""
    from engine.storage.wiring import connect

    if getattr(args, "database", None) is None:
        at = getattr(args, "at", None)
        args.database = connect(clock=FixedClock(_moment(at)) if at else None)
    return args.database


def _moment(text: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO 8601 date and time (e.g. 2026-11-23T09:00:00+00:00)") from None


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a JSON object like {{\"amount\": 1000}}")
    from engine.sandbox.values import why_unstorable

    why = why_unstorable(value)
    if why is not None:
        raise UsageError(f"{what} cannot be kept in a case's data: it holds {why}")
    return value


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


# -- commands --------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    from engine import simulation
    from engine.analytics import facts
    from engine.storage.location import shown_database_url
    from engine.storage.wiring import connect
    from engine.work.accounts import USER_NAME, USER_NAME_RULE

    if args.admin is not None and not USER_NAME.fullmatch(args.admin):  # refused before anything is done
        raise UsageError(f"--admin needs the admin's user name: {USER_NAME_RULE}; {args.admin!r} is not one")
    # with --demo, what init deploys and adds is dated the day before the demo's first day, as the demo's own
    demo_start = simulation.default_start(INIT_DEMO_DAYS, SystemClock().now()) if args.demo else None
    new_uow = connect(migrate=True, clock=FixedClock(demo_start - timedelta(days=1)) if demo_start else None)
    with new_uow() as uow:
        facts.refresh(uow)  # on an upgraded database, the dashboards' facts of its history are built now, once
    for line in deploy_shipped(new_uow, demo=args.demo):
        print(line)
    if args.admin is not None:
        print(_init_admin(new_uow, args.admin))
    if demo_start:
        _add_demo_users(new_uow)
        _run_demo(days=INIT_DEMO_DAYS, seed=1, start=demo_start)
    elif args.admin is None and not _users_holding(new_uow, "admin"):
        print("no user can sign in yet: create an admin with `valueflow init --admin NAME`, "
              "or any user with `valueflow user add NAME --role ROLE --password P`")
    print(f"database ready: {shown_database_url()}")
    return 0


def deploy_shipped(new_uow: UnitOfWorkFactory, demo: bool) -> list[str]:
    """Deploy the shipped processes (for the demo, the loan decision as it was before its redesign); one line
    for each version this created, and one for each process that was already deployed as it ships. A process that
    another ``init`` deployed at the same moment is deployed again, and found as it ships."""
    from engine import service, simulation
    from engine.definitions.packages import read_package
    from engine.storage.uow import ConcurrentUpdate

    before = _deployed_versions(new_uow)
    story = demo and simulation.deploy_processes(new_uow)
    for folder in sorted(p for p in SHIPPED.iterdir() if p.is_dir()):
        if not (story and folder.name == "loan_decision"):
            package = read_package(folder)
            try:
                service.deploy(new_uow(), package, actor="init")
            except ConcurrentUpdate:
                service.deploy(new_uow(), package, actor="init")
    after = _deployed_versions(new_uow)
    lines = []
    for key, version in sorted(after - before):
        before_redesign = story and key == "loan_decision"
        lines.append(f"deployed: {key} version {version}" + (
            ", the loan decision before its redesign (the demo traffic below deploys the redesign as version 2)"
            if before_redesign else ""))
    created = {key for key, _ in after - before}
    for key in sorted({key for key, _ in after} - created):
        lines.append(f"up to date: {key} version {max(v for k, v in after if k == key)}")
    return lines


def _deployed_versions(new_uow: UnitOfWorkFactory) -> set[tuple[str, int]]:
    with new_uow() as uow:
        return set(uow.definitions.versions())


def _init_admin(new_uow: UnitOfWorkFactory, name: str) -> str:
    """Create the admin ``name`` with a random password, or leave an existing user of that name as they are;
    the line that says which."""
    import secrets

    from engine import service
    from engine.work.accounts import account

    existing = account(new_uow(), name)
    if existing is None:
        password = secrets.token_urlsafe(12)
        service.add_user(new_uow(), name, ["admin"], password)
        return f"created the admin {name} with the password {password} (shown only now; it is stored as a hash)"
    if existing.is_admin:
        return f"the admin {name} already exists; unchanged"
    return (f"there is already a user named {name}, who is not an admin; unchanged (make them one with "
            f"`valueflow user add {name} --role admin`)")


def _users_holding(new_uow: UnitOfWorkFactory, role: str) -> bool:
    with new_uow() as uow:
        return bool(uow.users.holding(role))


def _add_demo_users(new_uow: UnitOfWorkFactory) -> None:
    """One demo user per role, named after it, for each role that has none yet; their passwords shown once."""
    import secrets

    from engine import service
    from engine.work.accounts import BUILT_IN_ROLES

    created = []
    for role in list(BUILT_IN_ROLES) + sorted(_lane_roles(new_uow)):
        with new_uow() as uow:
            exists = uow.users.by_name(role) is not None
        if not exists:
            password = secrets.token_urlsafe(9)
            service.add_user(new_uow(), role, [role], password)
            created.append((role, password))
    if created:
        print("demo users (one per role; the passwords are shown only now):")
        for name, password in created:
            print(f"  {name:<22} {password}")


def _lane_roles(new_uow: UnitOfWorkFactory) -> set[str]:
    with new_uow() as uow:
        return uow.definitions.lane_roles()


def cmd_deploy(args: argparse.Namespace) -> int:
    from engine import service
    from engine.definitions.packages import read_package

    result = service.deploy(_uow_factory(args)(), read_package(Path(args.path)), actor=args.user)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    verb = "deployed" if result.created else "unchanged, already deployed as"
    print(f"{verb} {result.key} version {result.version}")
    if result.roles:
        print("roles: " + ", ".join(f"{role} ({origin})" for role, origin in result.roles.items()))
    if result.changes:
        print(f"changes against version {result.version - 1}:")
        for change in result.changes:
            print(f"  - {change}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    from engine import service

    data = _json_object(args.data, "--data") if args.data else {}
    name = args.customer_name or args.customer_id
    problem = service.customer_problem(args.customer_id, name, args.segment)
    if problem is not None:
        raise UsageError(problem)
    customer = service.CustomerRef(args.customer_id, name, args.segment)
    print(service.start_instance(_uow_factory(args)(), args.key, customer, data, actor=args.user))
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    # Plain SQL on the database driver: listing tasks loads no SQLAlchemy, nor the use cases.
    from engine.errors import NotFound
    from engine.storage.driver_reads import reading
    from engine.storage.location import database_url
    from engine.work import task_list

    status = None if args.status == "all" else args.status
    with reading(database_url()) as reader:
        if args.user and not task_list.user_exists(reader, args.user):
            raise NotFound(f"no user named {args.user!r}")
        tasks = task_list.list_tasks(reader, user=args.user, role=args.role, instance_id=args.instance,
                                     status=status, limit=task_list.LIMIT + 1)
    if len(tasks) > task_list.LIMIT:
        tasks = tasks[:task_list.LIMIT]
        _to_stderr(f"valueflow: only the {task_list.LIMIT} most urgent tasks are listed; more match (narrow the "
                   "list with --role, --user, --instance or --status)")
    return _listing(tasks, args.json, "no tasks", lambda t: (
        f"{t['id']:>6}  case {t['instance_id']:<6} {t['name'][:34]:<34} {t['role'] or '-':<20} "
        f"{t['assignee'] or '(queue)':<14} due {t['due_at'] or '-'}"))


def _listing(rows: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]) -> int:
    """Print ``rows`` as a JSON list, or each as its ``line`` (``empty`` when there is none)."""
    if as_json:
        _print_json(rows)
        return 0
    if not rows:
        print(empty)
    for row in rows:
        print(line(row))
    return 0


def cmd_claim(args: argparse.Namespace) -> int:
    from engine import service

    service.claim_task(_uow_factory(args)(), args.task, args.user)
    print(f"task {args.task} claimed by {args.user}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from engine import service

    service.release_task(_uow_factory(args)(), args.task, args.user)
    print(f"task {args.task} is back in its queue")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from engine import service

    service.assign_task(_uow_factory(args)(), args.task, args.to, args.user)
    print(f"task {args.task} assigned to {args.to}")
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    from engine import service

    data = _json_object(args.data, "--data") if args.data else {}
    instance_id = service.complete_task(_uow_factory(args)(), args.task, args.user, data)
    print(f"task {args.task} completed; instance {instance_id}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from engine import service

    service.cancel_instance(_uow_factory(args)(), args.instance, args.user)
    print(f"instance {args.instance} cancelled")
    return 0


def cmd_message(args: argparse.Namespace) -> int:
    from engine import service

    payload = _json_object(args.data, "--data") if args.data else {}
    service.deliver_message(_uow_factory(args)(), args.instance, args.name, payload, actor=args.user)
    print(f"message {args.name} delivered to instance {args.instance}")
    return 0


def cmd_instance(args: argparse.Namespace) -> int:
    from engine.work import queries

    view = queries.instance_view(_uow_factory(args)(), args.instance)
    if args.json:
        _print_json(view)
        return 0
    customer = view["customer"]
    print(f"instance {view['id']}: {view['process']} v{view['version']} — {view['status']}")
    print(f"customer: {customer['name']} ({customer['id']}, {customer['segment']})")
    if view["error"]:
        print(f"error at {view['error']['step']}: {view['error']['message']}")
    for step in view["open_steps"]:
        print(f"open: task {step['id']} {step['name']} ({step['role']}, {step['assignee'] or 'unclaimed'})")
    for event in view["events"]:
        print(f"  {event['at']}  {event['type']:<18} {event['step_id'] or '':<24} {event['actor'] or ''}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from engine import service

    roles = _role_names(args.role)
    added = service.add_user(_uow_factory(args)(), args.name, roles, args.password)
    if added.created:
        print(f"user {args.name} added with the roles {', '.join(roles)}")
        return 0
    held = ", ".join(added.roles)
    change = (f"roles added: {', '.join(added.roles_added)} (now holds {held})" if added.roles_added
              else f"no role added (already holds {held})")
    password = ("password changed (their open sessions have ended)" if added.password_changed
                else "password unchanged")
    print(f"user {args.name} already existed; {change}; {password}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from engine.work.accounts import list_users

    new_uow = _uow_factory(args)
    rows, page, pages = [], 1, 1
    while page <= pages:
        found = list_users(new_uow(), page=page, per_page=USERS_PER_READ)
        rows += found["rows"]
        page, pages = page + 1, found["pages"]
    users = [{"name": u["name"], "roles": u["roles"], "disabled": u["disabled_at"] is not None,
              "disabled_at": _when(u["disabled_at"]), "has_password": u["can_sign_in"],
              "created_at": _when(u["created_at"])} for u in rows]
    return _listing(users, args.json, "no users (add one with `valueflow user add NAME --role ROLE --password P`)",
                    lambda u: f"{u['name']:<24} {', '.join(u['roles']) or '-':<40} " + (
                        f"disabled since {u['disabled_at']}" if u["disabled"]
                        else "enabled" if u["has_password"] else "enabled, no password (API tokens only)"))


def cmd_user_disable(args: argparse.Namespace) -> int:
    from engine.work import accounts

    new_uow = _uow_factory(args)
    if not accounts.set_disabled(new_uow(), args.name, True, actor=None):
        print(f"user {args.name} was already disabled; unchanged")
        return 0
    print(f"user {args.name} disabled: they cannot sign in, their open sessions have ended and their API tokens "
          "are refused")
    held = accounts.tasks_held(new_uow(), args.name).count
    if held:
        print(f"they still hold {held} open task{'s' if held > 1 else ''}: a manager can release or reassign "
              f"{'them' if held > 1 else 'it'} (valueflow tasks --user {args.name})")
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    from engine.work import accounts

    if accounts.set_disabled(_uow_factory(args)(), args.name, False, actor=None):
        print(f"user {args.name} enabled: they can sign in again")
    else:
        print(f"user {args.name} was already enabled; unchanged")
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    from engine.work import accounts

    password = accounts.reset_password(_uow_factory(args)(), args.name, actor=None)
    print(f"the new password of {args.name} is {password} (shown only now; it is stored as a hash); their open "
          "sessions have ended")
    return 0


def cmd_user_roles(args: argparse.Namespace) -> int:
    from engine.work import accounts

    roles = _role_names(args.role)
    before = accounts.set_roles(_uow_factory(args)(), args.name, roles, actor=None)
    print(f"user {args.name} now holds {', '.join(sorted(roles))} (before: {', '.join(before) or 'no role'})")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from engine.work import tokens

    print(tokens.create_token(_uow_factory(args)(), args.user, args.name))
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from engine.work import tokens

    rows = [{"id": t.id, "name": t.name, "created_at": _when(t.created_at), "last_used_at": _when(t.last_used_at),
             "revoked": t.revoked_at is not None, "revoked_at": _when(t.revoked_at)}
            for t in tokens.tokens_of(_uow_factory(args)(), args.user)]
    return _listing(rows, args.json, f"{args.user} has no API tokens", lambda t: (
        f"{t['id']:>6}  {t['name'][:40]:<40} created {t['created_at']}  last used {t['last_used_at'] or 'never'}  "
        + (f"revoked {t['revoked_at']}" if t["revoked"] else "active")))


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from engine.work import tokens

    if not tokens.revoke_token(_uow_factory(args)(), args.user, args.id, actor=None):
        _to_stderr(f"valueflow: API token {args.id} of {args.user} was already revoked; nothing changed")
        return 2
    print(f"API token {args.id} of {args.user} revoked: requests with it are refused from now on")
    return 0


def _when(moment: Optional[datetime]) -> Optional[str]:
    """A stored moment as ISO 8601 in UTC, to the second; None stays None."""
    return None if moment is None else as_utc(moment).isoformat(timespec="seconds")


def _role_names(values: Sequence[str]) -> list[str]:
    """The roles of ``--role``, given once or more, each one role or a comma-separated list of them; a role is
    written as its key (lower-case, dashes), and any other spelling is refused with the key it should be."""
    from engine.definitions.annotations import role_key

    roles: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if name and role_key(name) != name:
                raise UsageError(f"{name!r} is not a role: roles are written in lower case with dashes; "
                                 + (f"write it {role_key(name)}" if role_key(name) else "e.g. credit-analyst"))
            if name and name not in roles:
                roles.append(name)
    if not roles:
        raise UsageError("--role needs a role, like --role credit-analyst (several: --role a,b or --role a --role b)")
    return roles


def cmd_demo(args: argparse.Namespace) -> int:
    _run_demo(args.days, args.seed)
    return 0


def _run_demo(days: int, seed: int, start: Optional[datetime] = None) -> None:
    from engine import simulation
    from engine.storage.wiring import connect

    if days < 1:
        raise UsageError("--days must be 1 or more")
    new_uow = connect(migrate=True, clock=FixedClock(SystemClock().now()))
    result = simulation.run_demo(new_uow, days=days, seed=seed, start=start, progress=sys.stderr)
    print(f"demo: {result.total_cases} cases over {days} days ({result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}) "
          f"in {result.seconds:.0f} s")
    for key, count in sorted(result.cases.items()):
        print(f"  {key}: {count} cases")
    print(f"  {result.tasks_completed} tasks completed, {result.messages} customer replies, "
          f"{result.timers_fired} timers fired, {result.breaches} targets breached, "
          f"{result.scores} satisfaction scores")
    if result.loan_story:
        print("  loan_decision: version 1 is the process before its redesign (7 days end to end), version 2 "
              "the redesign (48 hours); compare them on the dashboard")
    else:
        print("valueflow: loan_decision was deployed before the demo, so the demo has no 'before' version to "
              "compare; run it on a fresh database (valueflow init --demo) for the loan story", file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.analytics import exports
    from engine.analytics.filters import Filters

    filters = Filters(args.process, start=_moment(args.since) if args.since else None,
                      end=_moment(args.until) if args.until else None, version=args.version, segment=args.segment)
    log = exports.event_log(_uow_factory(args)(), filters)
    if args.output == "-":
        log.write(sys.stdout, args.format)
        where = "standard output"
    else:
        target = Path(args.output)
        partial = target.with_name(target.name + ".part")  # a failed export leaves no half-written file
        try:
            with open(partial, "w", encoding="utf-8", newline="") as out:
                log.write(out, args.format)
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
        where = str(target)
    print(f"exported {log.events} events of {log.cases} cases of {args.process} as {args.format.upper()} "
          f"to {where}", file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from engine import jobs, metrics, service, settings, worker
    from engine.storage.health import readiness
    from engine.storage.location import shown_database_url

    settings.check()
    metrics_port = None if args.once else _metrics_port(args.metrics_port)
    _engine_warnings_to_stderr()
    new_uow = _uow_factory(args)
    state = readiness(new_uow.engine)
    if state.database and not state.schema_current:  # an unreachable database is told with its address below
        raise UsageError(f"the worker cannot start: {state.problem}")
    lease = timedelta(seconds=args.lease)
    if args.once:
        result = jobs.run_until_idle(new_uow, jobs.worker_name(), lease, args.batch)
        worker.report(result, print, _to_stderr, always=True)
        return 1 if result.errors else 0
    if metrics_port is not None:
        worker.count_from_zero()  # before the first scrape: a series that appeared later would count from 1
        try:
            metrics.serve_metrics(args.metrics_host, metrics_port)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else str(exc)
            raise UsageError(f"the worker cannot serve metrics on {args.metrics_host}:{metrics_port}: {reason}"
                             ) from None
    service.compile_running_definitions(new_uow())
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each line reaches a log at once
    stop = threading.Event()

    def stop_after_the_round(_signal: int, _frame: object) -> None:  # a service manager's stop
        print(f"valueflow worker (pid {os.getpid()}): SIGTERM, stopping after the rounds in progress")
        stop.set()

    signal.signal(signal.SIGTERM, stop_after_the_round)
    print(f"valueflow worker (pid {os.getpid()}) on {shown_database_url()}: rounds every {args.interval:g} s, "
          f"{args.batch} jobs at a time, each leased for {args.lease:g} s"
          + (f"; metrics at http://{args.metrics_host}:{metrics_port}/metrics" if metrics_port is not None else ""))
    worker.run_rounds(new_uow, args.interval, stop, print, _to_stderr, lease, args.batch)
    print(f"valueflow worker (pid {os.getpid()}): stopped")
    return 0


def _engine_warnings_to_stderr() -> None:
    """The engine's warnings (a job taken over from a worker that died holding it) on stderr, a line each, as the
    worker's other complaints; once per process, however many commands it runs."""
    found = logging.getLogger("engine")
    if not any(isinstance(handler, _WorkerComplaints) for handler in found.handlers):
        handler = _WorkerComplaints()
        handler.setFormatter(logging.Formatter("valueflow worker: %(message)s"))
        found.addHandler(handler)


class _WorkerComplaints(logging.Handler):
    """Each record a line on the standard error of the moment (``_to_stderr``)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _to_stderr(self.format(record))
        except Exception:  # logging's own way: say so on stderr, never stop the worker
            self.handleError(record)


def _metrics_port(given: Optional[int]) -> Optional[int]:
    """The worker's metrics port: ``--metrics-port``, else ``VALUEFLOW_WORKER_METRICS_PORT``, else none."""
    if given is not None:
        return given
    text = os.environ.get(WORKER_METRICS_PORT, "").strip()
    if not text:
        return None
    try:
        return port_number(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{WORKER_METRICS_PORT} {exc}") from None


def whole_number(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, refused in one line naming the range (argparse's
    own ``choices`` would list every number)."""
    def read(text: str) -> int:
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} from {low} to {high}")
        return int(text)
    return read


port_number = whole_number(1, 65535, "a port: a whole number")


def _positive(text: str) -> float:
    """A number of seconds above zero, for argparse."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above zero")
    return seconds


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The command line's parser; the commands other parts add are loaded only when ``argv`` may want them."""
    parser = _Parser(prog="valueflow", description="Valueflow: customer processes on BPMN.")
    sub = parser.add_subparsers(required=True, metavar="command", parser_class=_Parser)

    def action(of: Any, name: str, run: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        """The parser of the command ``name`` among the subcommands ``of``, which ``run`` runs."""
        p = of.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=run)
        return p

    def command(name: str, run: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        return action(sub, name, run, help_text)

    p = command("init", cmd_init, "create or upgrade the schema and deploy the shipped processes")
    p.add_argument("--demo", action="store_true",
                   help="add one demo user per role, then fill the database with 30 days of demo traffic")
    p.add_argument("--admin", metavar="NAME", help="create the admin NAME and print their password once")
    p = command("demo", cmd_demo, "simulate days of customer traffic through the shipped processes")
    p.add_argument("--days", type=int, default=30, help="how many days, ending now (default 30)")
    p.add_argument("--seed", type=int, default=1, help="the random seed (the same seed, the same demo)")
    p = command("deploy", cmd_deploy, "validate and deploy a process package folder or a .bpmn file")
    p.add_argument("path")
    p.add_argument("--user", help="who deploys (recorded)")
    p = command("start", cmd_start, "start a case; prints the new instance id")
    p.add_argument("key", help="the process key, e.g. loan_decision")
    p.add_argument("--customer-id", required=True)
    p.add_argument("--customer-name")
    p.add_argument("--segment", default="standard")
    p.add_argument("--data", help="initial case data as a JSON object")
    p.add_argument("--user", help="who starts it (recorded; the initiator its start event names)")
    p = command("tasks", cmd_tasks, "list tasks, most urgent first (the 500 most urgent, saying so on stderr when "
                                    "more match)")
    p.add_argument("--user", help="tasks assigned to this user")
    p.add_argument("--role", help="tasks of this role")
    p.add_argument("--instance", type=int, help="tasks of this case")
    p.add_argument("--status", default="open", choices=["open", "completed", "cancelled", "all"])
    p.add_argument("--json", action="store_true")
    for name, run, text in (("claim", cmd_claim, "claim a task"), ("release", cmd_release, "release a claimed task")):
        p = command(name, run, text)
        p.add_argument("task", type=int)
        p.add_argument("--user", required=True)
    p = command("assign", cmd_assign, "assign a task to a user (managers and admins)")
    p.add_argument("task", type=int)
    p.add_argument("--to", required=True)
    p.add_argument("--user", required=True, help="the manager or admin who assigns")
    p = command("complete", cmd_complete, "complete a task assigned to you")
    p.add_argument("task", type=int)
    p.add_argument("--user", required=True)
    p.add_argument("--data", help="the form's values as a JSON object")
    p = command("cancel", cmd_cancel, "cancel a case")
    p.add_argument("instance", type=int)
    p.add_argument("--user", required=True)
    p = command("message", cmd_message, "deliver a message (e.g. documents_received) to a waiting case")
    p.add_argument("instance", type=int)
    p.add_argument("name")
    p.add_argument("--data", help="the message payload as a JSON object")
    p.add_argument("--user")
    p = command("instance", cmd_instance, "show one case")
    p.add_argument("instance", type=int)
    p.add_argument("--json", action="store_true")
    user = sub.add_parser("user", help="manage users", description="manage users")
    user_sub = user.add_subparsers(required=True, metavar="action", parser_class=_Parser)
    role_help = ("a role, or several separated by commas (credit-analyst,underwriter); may be repeated; "
                 "external-worker for an outside worker's system account")
    p = action(user_sub, "add", cmd_user_add, "add a user or give a user more roles")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True, help=role_help)
    p.add_argument("--password")
    p = action(user_sub, "list", cmd_user_list, "list every user with their roles and whether they may sign in")
    p.add_argument("--json", action="store_true")
    p = action(user_sub, "disable", cmd_user_disable, "disable a user: they cannot sign in, their open sessions "
                                                      "end and their API tokens are refused (the only enabled admin "
                                                      "cannot be disabled)")
    p.add_argument("name")
    p = action(user_sub, "enable", cmd_user_enable, "enable a disabled user again")
    p.add_argument("name")
    p = action(user_sub, "reset-password", cmd_user_reset_password,
               "give a user a new random password and print it once; their open sessions end")
    p.add_argument("name")
    p = action(user_sub, "roles", cmd_user_roles, "set exactly the roles a user holds, taking away any other (the "
                                                  "only enabled admin keeps the admin role)")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True, help=role_help)
    token = sub.add_parser("token", help="manage API tokens", description="manage API tokens")
    token_sub = token.add_subparsers(required=True, metavar="action", parser_class=_Parser)
    p = action(token_sub, "create", cmd_token_create, "make an API token acting as a user; prints it once (it is "
                                                      "stored hashed and cannot be shown again)")
    p.add_argument("user", metavar="NAME", help="the user the token acts as, with their roles")
    p.add_argument("--name", default="command line", help="what the token is for, shown on the user's token page")
    p = action(token_sub, "list", cmd_token_list, "list a user's API tokens, newest first, revoked ones too")
    p.add_argument("user", metavar="NAME", help="the user the tokens act as")
    p.add_argument("--json", action="store_true")
    p = action(token_sub, "revoke", cmd_token_revoke, "revoke one of a user's API tokens: requests with it are "
                                                      "refused from then on")
    p.add_argument("user", metavar="NAME", help="the user the token acts as")
    p.add_argument("id", metavar="ID", type=int, help="the token's id, as `valueflow token list NAME` shows it")
    p = command("export", cmd_export, "write a process's event log as XES (IEEE 1849) or CSV")
    p.add_argument("--process", required=True, metavar="KEY", help="the process key, e.g. loan_decision")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write, or - for stdout")
    p.add_argument("--version", type=int, help="only cases of this version")
    p.add_argument("--segment", help="only cases of customers in this segment")
    p.add_argument("--since", metavar="ISO", help="only cases started at or after this moment")
    p.add_argument("--until", metavar="ISO", help="only cases started before this moment")
    p = command("worker", cmd_worker, "run due jobs: fire timers, record breached targets")
    once_or_metrics = p.add_mutually_exclusive_group()
    once_or_metrics.add_argument("--once", action="store_true", help="run every job due now, then exit")
    once_or_metrics.add_argument(
        "--metrics-port", type=port_number, metavar="PORT",
        help=f"serve this worker's Prometheus metrics (jobs run and failed by kind, their durations, lease "
             f"takeovers, rounds) at http://HOST:PORT/metrics; default ${WORKER_METRICS_PORT}, else none")
    p.add_argument("--at", help="act as if it were this moment (ISO 8601)")
    p.add_argument("--interval", type=_positive, default=5.0, help="seconds between rounds (default 5)")
    p.add_argument("--lease", type=_positive, default=WORKER_LEASE_SECONDS,
                   help=f"seconds a claimed job stays this worker's before another may take it over "
                        f"(default {WORKER_LEASE_SECONDS:g})")
    p.add_argument("--batch", type=whole_number(1, 10_000), metavar="1..10000", default=WORKER_BATCH,
                   help=f"jobs claimed at once (default {WORKER_BATCH})")
    p.add_argument("--metrics-host", metavar="HOST", default=os.environ.get(WORKER_METRICS_HOST) or "127.0.0.1",
                   help=f"the address the metrics are served on (default ${WORKER_METRICS_HOST}, else 127.0.0.1)")
    # Other parts of Valueflow (the web app's ``serve``) add their commands through this entry point
    # group, so that the engine never imports them. Loading one imports that part (the web app: Flask,
    # Jinja2, every view, about a quarter of a second), so a command of the engine's own skips it;
    # help, a plugin's command and a mistake (whose message lists every command) load them all.
    words = [word for word in argv if not word.startswith("-")]
    if not words or words[0] not in sub.choices:
        from importlib.metadata import entry_points

        for entry in entry_points(group="valueflow.commands"):
            entry.load()(command)
    return parser


if __name__ == "__main__":
    sys.exit(main())
